// Package e2e holds tests that build the chatha binary, start real processes
// on loopback, kill them with real signals and check what clients saw.
package e2e
