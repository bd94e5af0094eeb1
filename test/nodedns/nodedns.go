// Package nodedns is the nodes' name server of a testbed, as a site's DNS
// that knows some of VIO's host names: it answers A queries for the names
// it is given and NXDOMAIN for any other, over UDP on port 53 of a loopback
// address of its own (a resolv.conf names no port). It needs root.
package nodedns

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"strings"
	"syscall"

	"golang.org/x/net/dns/dnsmessage"
)

// Server is a running name server.
type Server struct {
	conn    *net.UDPConn
	records map[string]netip.Addr
	done    chan struct{}
}

// Start serves records (host name to IPv4 address) on port 53 of a free
// address of 127.0.0.0/8.
func Start(records map[string]string) (*Server, error) {
	s := &Server{records: map[string]netip.Addr{}, done: make(chan struct{})}
	for name, ip := range records {
		a, err := netip.ParseAddr(ip)
		if err != nil || !a.Is4() {
			return nil, fmt.Errorf("nodedns: %s: %q is not an IPv4 address", name, ip)
		}
		s.records[strings.ToLower(strings.TrimSuffix(name, "."))+"."] = a
	}
	var err error
	for i := 0; i < 20; i++ {
		ip := net.IPv4(127, byte(100+rand.IntN(100)), byte(rand.IntN(256)), byte(1+rand.IntN(254)))
		s.conn, err = net.ListenUDP("udp4", &net.UDPAddr{IP: ip, Port: 53})
		if err == nil {
			go s.serve()
			return s, nil
		}
		if !errors.Is(err, syscall.EADDRINUSE) {
			break
		}
	}
	return nil, fmt.Errorf("nodedns: listening on port 53 of a loopback address (needs root): %w", err)
}

// Address is the IP the server answers on, for a resolv.conf.
func (s *Server) Address() string { return s.conn.LocalAddr().(*net.UDPAddr).IP.String() }

// Close stops serving.
func (s *Server) Close() {
	s.conn.Close()
	<-s.done
}

func (s *Server) serve() {
	defer close(s.done)
	buf := make([]byte, 1500)
	for {
		n, from, err := s.conn.ReadFromUDP(buf)
		if err != nil {
			return
		}
		if answer, err := s.answer(buf[:n]); err == nil {
			_, _ = s.conn.WriteToUDP(answer, from)
		}
	}
}

// answer builds the reply to one query.
func (s *Server) answer(query []byte) ([]byte, error) {
	var p dnsmessage.Parser
	h, err := p.Start(query)
	if err != nil {
		return nil, err
	}
	q, err := p.Question()
	if err != nil {
		return nil, err
	}
	name := strings.ToLower(q.Name.String())
	addr, known := s.records[name]
	rh := dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true, RecursionDesired: h.RecursionDesired, RecursionAvailable: true}
	if !known {
		rh.RCode = dnsmessage.RCodeNameError
	}
	b := dnsmessage.NewBuilder(nil, rh)
	b.EnableCompression()
	if err := b.StartQuestions(); err != nil {
		return nil, err
	}
	if err := b.Question(q); err != nil {
		return nil, err
	}
	if known && q.Type == dnsmessage.TypeA {
		if err := b.StartAnswers(); err != nil {
			return nil, err
		}
		rr := dnsmessage.ResourceHeader{Name: q.Name, Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET, TTL: 30}
		if err := b.AResource(rr, dnsmessage.AResource{A: addr.As4()}); err != nil {
			return nil, err
		}
	}
	return b.Finish()
}
