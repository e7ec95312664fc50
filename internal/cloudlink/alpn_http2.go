//go:build !nethttpomithttp2

package cloudlink

// lanALPN is what the LAN listener offers in TLS: HTTP/2 is compiled in.
var lanALPN = []string{"h2", "http/1.1"}
