package apiserver

import (
	"fmt"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/conversion"
	"k8s.io/apimachinery/pkg/runtime"
)

// addParameterConversions teaches the scheme to decode the query
// parameters of the connect subresources (log, exec, attach, proxy,
// portforward) into their option types, by the types' json field names.
func addParameterConversions(s *runtime.Scheme) error {
	for _, t := range []runtime.Object{
		&corev1.PodLogOptions{}, &corev1.PodExecOptions{}, &corev1.PodAttachOptions{},
		&corev1.PodProxyOptions{}, &corev1.ServiceProxyOptions{}, &corev1.NodeProxyOptions{},
		&corev1.PodPortForwardOptions{},
	} {
		err := s.AddConversionFunc((*url.Values)(nil), t, func(a, b interface{}, _ conversion.Scope) error {
			return decodeQuery(*a.(*url.Values), b)
		})
		if err != nil {
			return fmt.Errorf("register query conversion for %T: %w", t, err)
		}
	}
	return nil
}

var timeType = reflect.TypeOf(metav1.Time{})

// decodeQuery sets the fields of the struct out points to from values,
// matching query keys to json field names.
func decodeQuery(values url.Values, out interface{}) error {
	v := reflect.ValueOf(out).Elem()
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name := strings.Split(f.Tag.Get("json"), ",")[0]
		if name == "" || name == "-" {
			continue
		}
		vals, ok := values[name]
		if !ok || len(vals) == 0 {
			continue
		}
		if err := setValue(v.Field(i), vals); err != nil {
			return fmt.Errorf("query parameter %s: %w", name, err)
		}
	}
	return nil
}

func setValue(f reflect.Value, vals []string) error {
	last := vals[len(vals)-1]
	if f.Kind() == reflect.Pointer {
		if f.Type().Elem() == timeType {
			ts, err := time.Parse(time.RFC3339, last)
			if err != nil {
				return err
			}
			f.Set(reflect.ValueOf(&metav1.Time{Time: ts}))
			return nil
		}
		p := reflect.New(f.Type().Elem())
		if err := setValue(p.Elem(), vals); err != nil {
			return err
		}
		f.Set(p)
		return nil
	}
	switch f.Kind() {
	case reflect.String:
		f.SetString(last)
	case reflect.Bool:
		b, err := strconv.ParseBool(last)
		if err != nil {
			return err
		}
		f.SetBool(b)
	case reflect.Int, reflect.Int32, reflect.Int64:
		n, err := strconv.ParseInt(last, 10, 64)
		if err != nil {
			return err
		}
		f.SetInt(n)
	case reflect.Slice:
		if f.Type().Elem().Kind() != reflect.String {
			return fmt.Errorf("unsupported list type %s", f.Type())
		}
		f.Set(reflect.ValueOf(append([]string(nil), vals...)).Convert(f.Type()))
	default:
		return fmt.Errorf("unsupported type %s", f.Type())
	}
	return nil
}
