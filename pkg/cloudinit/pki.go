package cloudinit

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// The cluster's shared keys, by their paths under /etc/kubernetes/pki, as
// kubeadm names them: three CAs and the service-account key pair.
const (
	caCert            = "ca.crt"
	caKey             = "ca.key"
	frontProxyCACert  = "front-proxy-ca.crt"
	frontProxyCAKey   = "front-proxy-ca.key"
	etcdCACert        = "etcd/ca.crt"
	etcdCAKey         = "etcd/ca.key"
	serviceAccountKey = "sa.key"
	serviceAccountPub = "sa.pub"

	// caValidity is kubeadm's validity of the CAs it creates.
	caValidity = 10 * 365 * 24 * time.Hour
	rsaBits    = 2048
)

// cas are the CAs of a cluster: certificate file, key file, common name
// (kubeadm's).
var cas = []struct{ cert, key, cn string }{
	{caCert, caKey, "kubernetes"},
	{frontProxyCACert, frontProxyCAKey, "front-proxy-ca"},
	{etcdCACert, etcdCAKey, "etcd-ca"},
}

// pkiFiles lists every file of a PKI directory, in a fixed order.
var pkiFiles = []string{caCert, caKey, frontProxyCACert, frontProxyCAKey, etcdCACert, etcdCAKey, serviceAccountKey, serviceAccountPub}

// PKI is the cluster's shared keys, made once and kept in a directory, so
// that the join CA pin is known before the control plane exists and every
// control-plane node uses the same CAs: the Kubernetes, front-proxy and
// etcd CAs and the service-account key pair, as kubeadm lays them out under
// /etc/kubernetes/pki.
type PKI struct {
	// Dir is the directory the files were read from.
	Dir   string
	files map[string][]byte
	ca    *x509.Certificate
}

// LoadOrCreatePKI reads the PKI in dir, or creates it when dir does not
// exist or is empty. created says which. A directory with some of the
// files, or with files that are not a valid PKI, is an error that names
// them; nothing is written then. A new directory appears whole or not at
// all.
func LoadOrCreatePKI(dir string, now time.Time) (pki *PKI, created bool, err error) {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, os.ErrNotExist) || (err == nil && len(entries) == 0):
		pki, err := createPKI(dir, now)
		return pki, err == nil, err
	case err != nil:
		return nil, false, fmt.Errorf("reading the PKI directory: %w", err)
	}
	pki, err = loadPKI(dir, now)
	return pki, false, err
}

func loadPKI(dir string, now time.Time) (*PKI, error) {
	p := &PKI{Dir: dir, files: map[string][]byte{}}
	var missing, bad []string
	for _, name := range pkiFiles {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			missing = append(missing, name)
			continue
		}
		p.files[name] = data
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("PKI directory %s lacks %s: give a directory that `epks cloud-init` filled, or an empty one",
			dir, strings.Join(missing, ", "))
	}
	for _, ca := range cas {
		cert, err := checkCA(p.files[ca.cert], p.files[ca.key], now)
		if err != nil {
			bad = append(bad, fmt.Sprintf("%s: %v", ca.cert, err))
			continue
		}
		if ca.cert == caCert {
			p.ca = cert
		}
	}
	if err := checkServiceAccountKeys(p.files[serviceAccountKey], p.files[serviceAccountPub]); err != nil {
		bad = append(bad, fmt.Sprintf("%s: %v", serviceAccountKey, err))
	}
	if len(bad) > 0 {
		return nil, fmt.Errorf("PKI directory %s: %s", dir, strings.Join(bad, "; "))
	}
	return p, nil
}

func createPKI(dir string, now time.Time) (*PKI, error) {
	p := &PKI{Dir: dir, files: map[string][]byte{}}
	for _, ca := range cas {
		certPEM, keyPEM, cert, err := newCA(ca.cn, now)
		if err != nil {
			return nil, err
		}
		p.files[ca.cert], p.files[ca.key] = certPEM, keyPEM
		if ca.cert == caCert {
			p.ca = cert
		}
	}
	key, err := rsa.GenerateKey(rand.Reader, rsaBits)
	if err != nil {
		return nil, fmt.Errorf("generating the service-account key: %w", err)
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("encoding the service-account key: %w", err)
	}
	p.files[serviceAccountKey] = pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	p.files[serviceAccountPub] = pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub})

	// Write beside the target, then rename: the directory appears whole.
	parent := filepath.Dir(filepath.Clean(dir))
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return nil, fmt.Errorf("creating the PKI directory: %w", err)
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(dir)+".tmp-")
	if err != nil {
		return nil, fmt.Errorf("creating the PKI directory: %w", err)
	}
	defer os.RemoveAll(tmp)
	for _, name := range pkiFiles {
		path := filepath.Join(tmp, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("writing the PKI: %w", err)
		}
		if err := os.WriteFile(path, p.files[name], 0o600); err != nil {
			return nil, fmt.Errorf("writing the PKI: %w", err)
		}
	}
	if err := os.Chmod(tmp, 0o700); err != nil {
		return nil, fmt.Errorf("writing the PKI: %w", err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		return nil, fmt.Errorf("writing the PKI: %w", err)
	}
	return p, nil
}

// newCA makes a self-signed RSA CA as kubeadm would.
func newCA(cn string, now time.Time) (certPEM, keyPEM []byte, cert *x509.Certificate, err error) {
	key, err := rsa.GenerateKey(rand.Reader, rsaBits)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("generating the key of CA %s: %w", cn, err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 63))
	if err != nil {
		return nil, nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             now.Add(-5 * time.Minute).UTC(),
		NotAfter:              now.Add(caValidity).UTC(),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("signing CA %s: %w", cn, err)
	}
	cert, err = x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}), cert, nil
}

// checkCA checks a CA certificate and its key.
func checkCA(certPEM, keyPEM []byte, now time.Time) (*x509.Certificate, error) {
	block, _ := pem.Decode(certPEM)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, errors.New("is not a PEM certificate")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("is not a certificate: %w", err)
	}
	if !cert.IsCA || cert.KeyUsage&x509.KeyUsageCertSign == 0 {
		return nil, errors.New("is not a CA certificate")
	}
	if now.After(cert.NotAfter) || now.Before(cert.NotBefore) {
		return nil, fmt.Errorf("is valid from %s to %s only", cert.NotBefore.Format(time.DateOnly), cert.NotAfter.Format(time.DateOnly))
	}
	key, err := parseRSAKey(keyPEM)
	if err != nil {
		return nil, fmt.Errorf("its key %v", err)
	}
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok || !pub.Equal(&key.PublicKey) {
		return nil, errors.New("does not belong to its key")
	}
	return cert, nil
}

func checkServiceAccountKeys(keyPEM, pubPEM []byte) error {
	key, err := parseRSAKey(keyPEM)
	if err != nil {
		return err
	}
	block, _ := pem.Decode(pubPEM)
	if block == nil {
		return fmt.Errorf("%s is not a PEM public key", serviceAccountPub)
	}
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return fmt.Errorf("%s is not a public key: %w", serviceAccountPub, err)
	}
	if rp, ok := pub.(*rsa.PublicKey); !ok || !rp.Equal(&key.PublicKey) {
		return fmt.Errorf("%s is not the public half of %s", serviceAccountPub, serviceAccountKey)
	}
	return nil
}

func parseRSAKey(keyPEM []byte) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode(keyPEM)
	if block == nil {
		return nil, errors.New("is not a PEM private key")
	}
	if key, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		return key, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, errors.New("is not an RSA private key")
	}
	key, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, errors.New("is not an RSA private key")
	}
	return key, nil
}

// CACertHash is the join pin of the cluster CA in kubeadm's form:
// "sha256:" and the hex SHA-256 of the CA's SubjectPublicKeyInfo.
func (p *PKI) CACertHash() string {
	sum := sha256.Sum256(p.ca.RawSubjectPublicKeyInfo)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// file returns the content of one file of the PKI.
func (p *PKI) file(name string) []byte { return p.files[name] }
