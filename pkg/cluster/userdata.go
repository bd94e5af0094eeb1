package cluster

import (
	"encoding/base64"
	"fmt"

	"github.com/epks/epks/pkg/cloudinit"
	"github.com/epks/epks/pkg/names"
	"github.com/epks/epks/pkg/params"
)

// CloudInitUserData renders each node's user data as `epks cloud-init`
// does, for its role, with the node's pod port MAC as pod_interface_mac, the
// cluster's PKI and, on the first control-plane node, the chart values.
func CloudInitUserData(p *params.Params, values map[string]any, pki *cloudinit.PKI, osName cloudinit.OS) UserData {
	return func(n Node, podMAC string) ([]byte, error) {
		np := *p
		if podMAC != "" {
			np.PodInterfaceMACs = []string{podMAC}
		}
		return cloudinit.Render(&np, cloudinit.Options{Role: n.Role, OS: osName, PKI: pki, Values: values, Version: names.Version})
	}
}

// FitNova gzips the user data that would not fit Nova's limit
// (cloudinit.MaxUserData bytes of base64) as it is; what does not fit even
// gzipped is an error.
func FitNova(u UserData) UserData {
	return func(n Node, podMAC string) ([]byte, error) {
		data, err := u(n, podMAC)
		if err != nil {
			return nil, err
		}
		if base64.StdEncoding.EncodedLen(len(data)) <= cloudinit.MaxUserData {
			return data, nil
		}
		z, err := cloudinit.Gzip(data)
		if err != nil {
			return nil, err
		}
		if size := base64.StdEncoding.EncodedLen(len(z)); size > cloudinit.MaxUserData {
			return nil, fmt.Errorf("the user data of %s is %d bytes in base64 even gzipped, more than Nova's %d", n.Name, size, cloudinit.MaxUserData)
		}
		return z, nil
	}
}
