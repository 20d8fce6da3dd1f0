//go:build tools

// Package tools pins the test control plane's commands in this module's graph; nothing
// here is compiled into ringkeeper. tests/kube/build builds them.
package tools

import (
	_ "go.etcd.io/etcd/server/v3"
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
)
