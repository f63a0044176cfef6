package serviceaccount

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/go-jose/go-jose/v4"
)

// EnsureKeys loads the signing key from keyPath, or generates one at first
// start: an ECDSA P-256 private key (PEM "EC PRIVATE KEY", mode 0600) at
// keyPath and its public key (PKIX PEM, 0644) at pubPath. A key already
// there, RSA (a data dir made before ECDSA keys; it keeps signing RS256, so
// the tokens it issued stay valid) or ECDSA, is used as it is: a key is
// never replaced. A missing public key is rewritten from the private key.
func EnsureKeys(keyPath, pubPath string) (crypto.Signer, error) {
	key, err := readPrivateKey(keyPath)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("generate service-account key: %w", err)
		}
		der, err := x509.MarshalECPrivateKey(ec)
		if err != nil {
			return nil, fmt.Errorf("marshal service-account key: %w", err)
		}
		if err := writeFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), 0o600); err != nil {
			return nil, err
		}
		key = ec
	case err != nil:
		return nil, err
	}
	if pub, err := ReadPublicKey(pubPath); err == nil {
		if k, ok := key.Public().(equaler); ok && k.Equal(pub) {
			return key, nil
		}
	}
	der, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		return nil, fmt.Errorf("marshal service-account public key: %w", err)
	}
	if err := writeFile(pubPath, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o644); err != nil {
		return nil, err
	}
	return key, nil
}

// equaler is what the public keys of crypto/rsa and crypto/ecdsa have.
type equaler interface {
	Equal(crypto.PublicKey) bool
}

// ReadPublicKey reads a PEM public key written by EnsureKeys: an
// *rsa.PublicKey or an *ecdsa.PublicKey.
func ReadPublicKey(path string) (crypto.PublicKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read service-account public key: %w", err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, fmt.Errorf("%s: no PEM block", path)
	}
	k, err := x509.ParsePKIXPublicKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if _, err := algorithm(k); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}

// readPrivateKey reads an RSA (PKCS #1) or ECDSA (SEC 1) private key, or
// either in PKCS #8.
func readPrivateKey(path string) (crypto.Signer, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read service-account key: %w", err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, fmt.Errorf("%s: no PEM block", path)
	}
	var k any
	if rk, err := x509.ParsePKCS1PrivateKey(blk.Bytes); err == nil {
		k = rk
	} else if ek, err := x509.ParseECPrivateKey(blk.Bytes); err == nil {
		k = ek
	} else if k, err = x509.ParsePKCS8PrivateKey(blk.Bytes); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	signer, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("%s: a %T is not a signing key", path, k)
	}
	if _, err := algorithm(signer.Public()); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return signer, nil
}

// algorithm is the JWS algorithm a key signs tokens with, as kube picks
// it: RS256 for RSA, ES256/ES384/ES512 for ECDSA on P-256/P-384/P-521.
func algorithm(pub crypto.PublicKey) (jose.SignatureAlgorithm, error) {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return jose.RS256, nil
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			return jose.ES256, nil
		case elliptic.P384():
			return jose.ES384, nil
		case elliptic.P521():
			return jose.ES512, nil
		}
		return "", fmt.Errorf("service-account key: ECDSA curve %s is not supported (P-256, P-384, P-521 are)", k.Curve.Params().Name)
	}
	return "", fmt.Errorf("service-account key: a %T is neither an RSA nor an ECDSA key", pub)
}

// writeFile replaces path atomically with data at mode.
func writeFile(path string, data []byte, mode os.FileMode) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, mode); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Chmod(tmp, mode); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
