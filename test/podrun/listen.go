package podrun

import (
	"fmt"
	"net"
	"strconv"
	"strings"
)

// assignListeners gives each listen flag of the binary a free port on
// 127.0.0.1: flags the pod set get their values replaced, others are
// added. It returns the arguments and the address of each flag.
func assignListeners(args []string, bin Binary) ([]string, map[string]string, error) {
	out := append([]string(nil), args...)
	got := map[string]string{}
	for _, spec := range []struct {
		flags []string
		value func(port int) string
	}{
		{bin.ListenFlags, func(port int) string { return "127.0.0.1:" + strconv.Itoa(port) }},
		{bin.PortFlags, strconv.Itoa},
	} {
		for _, flag := range spec.flags {
			port, err := freePort()
			if err != nil {
				return nil, nil, err
			}
			v := spec.value(port)
			out = setFlag(out, flag, v)
			got[flag] = v
		}
	}
	return out, got, nil
}

// setFlag sets --flag to value in args, in the --flag=value or --flag value
// form it has, or appends --flag=value.
func setFlag(args []string, flag, value string) []string {
	name := strings.TrimLeft(flag, "-")
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") {
			continue
		}
		n, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if n != name {
			continue
		}
		if hasValue {
			args[i] = "--" + name + "=" + value
		} else if i+1 < len(args) {
			args[i+1] = value
		}
		return args
	}
	return append(args, "--"+name+"="+value)
}

// freePort returns a port on 127.0.0.1 that nothing listens on now.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
