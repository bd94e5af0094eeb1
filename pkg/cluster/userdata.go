package cluster

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"fmt"

	"github.com/epks/epks/pkg/cloudinit"
	"github.com/epks/epks/pkg/names"
	"github.com/epks/epks/pkg/params"
)

// NodeUserData renders each node's user data as `epks cloud-init` does,
// with the cluster's PKI, the chart values of the first control-plane node
// and the node's pod port MAC; it gzips what would not fit Nova's limit
// (cloudinit.MaxUserData in base64), and refuses what does not fit even so.
func NodeUserData(p *params.Params, values map[string]any, pki *cloudinit.PKI, osName cloudinit.OS) UserData {
	return func(n Node, podMAC string) ([]byte, error) {
		np := *p
		if podMAC != "" {
			np.PodInterfaceMACs = []string{podMAC}
		}
		data, err := cloudinit.Render(&np, cloudinit.Options{Role: n.Role, OS: osName, PKI: pki, Values: values, Version: names.Version})
		if err != nil {
			return nil, err
		}
		if base64.StdEncoding.EncodedLen(len(data)) <= cloudinit.MaxUserData {
			return data, nil
		}
		var z bytes.Buffer
		zw := gzip.NewWriter(&z)
		if _, err := zw.Write(data); err != nil {
			return nil, err
		}
		if err := zw.Close(); err != nil {
			return nil, err
		}
		if n := base64.StdEncoding.EncodedLen(z.Len()); n > cloudinit.MaxUserData {
			return nil, fmt.Errorf("the user data is %d bytes in base64 even gzipped, more than Nova's %d", n, cloudinit.MaxUserData)
		}
		return z.Bytes(), nil
	}
}
