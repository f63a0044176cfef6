// Package examples owns the seeds' walkthroughs: their manifests (one
// directory per walkthrough, each with a README) and the small Go programs
// their images stand for, which ship inside the petset binary and run as
// `petset example <app> [args]`. App maps an app name to its Main; the
// image catalog (internal/agent/image) maps image references to those
// commands.
//
// | app           | package        | stands for                        |
// |---------------|----------------|-----------------------------------|
// | kubia         | kubia          | luksa/kubia-pet (seeds 000, 003)  |
// | kubiapeers    | kubiapeers     | luksa/kubia-pet-peers (seed 000)  |
// | hellostateful | hellostateful  | hello-stateful:v3 (seed 001)      |
// | static        | static         | nginx without a host nginx (002, 004) |
// | dnsutils      | dnsutils       | tutum/dnsutils without a host dig (000, 004) |
//
// The package holds a fixed table and starts nothing.
package examples
