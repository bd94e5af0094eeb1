// Package logging builds the root logger of the three binaries (epks,
// epks-port-tagger, viosim): a logr.Logger on zap, as controller-runtime's,
// in text or JSON, with a verbosity. Library code logs through the logger
// the binary gives it, mostly in its context (logr.FromContextOrDiscard);
// what a command prints for its user (progress, reports, --help) is its
// output, not a log.
package logging

import (
	"flag"
	"fmt"
	"io"
	"strconv"

	"github.com/go-logr/logr"
	"github.com/go-logr/zapr"
	"github.com/spf13/pflag"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"k8s.io/klog/v2"
)

// Formats of the log.
const (
	Text = "text"
	JSON = "json"
)

// MaxKlogVerbosity caps klog's verbosity: from 7 on client-go logs request
// headers, from 8 request and response bodies, Secrets among them.
const MaxKlogVerbosity = 5

// Options say how a binary logs.
type Options struct {
	// Verbosity is the highest V-level logged [0: Info and Error only].
	Verbosity int
	// Format is Text or JSON.
	Format string
}

const (
	verbosityUsage = "log verbosity: 0 logs what matters to an operator, higher levels more detail"
	formatUsage    = "log format: text or json"
)

// AddFlags adds -v/--v and --log-format to a command's flags; o holds the
// defaults.
func (o *Options) AddFlags(fs *pflag.FlagSet) {
	fs.IntVarP(&o.Verbosity, "v", "v", o.Verbosity, verbosityUsage)
	fs.StringVar(&o.Format, "log-format", o.Format, formatUsage)
}

// AddGoFlags adds -v and -log-format to a flag.FlagSet.
func (o *Options) AddGoFlags(fs *flag.FlagSet) {
	fs.IntVar(&o.Verbosity, "v", o.Verbosity, verbosityUsage)
	fs.StringVar(&o.Format, "log-format", o.Format, formatUsage)
}

// Validate names the flag that is wrong.
func (o Options) Validate() error {
	if o.Format != Text && o.Format != JSON {
		return fmt.Errorf("--log-format %q is not text or json", o.Format)
	}
	if o.Verbosity < 0 || o.Verbosity > 10 {
		return fmt.Errorf("-v %d is not 0 to 10", o.Verbosity)
	}
	return nil
}

// New returns the root logger, writing to w. It also gives klog (the
// logger of client-go, Helm's Kubernetes client and leader election) the
// same logger and verbosity, at most MaxKlogVerbosity, so that a binary
// logs in one style: call it once, in main's command.
func New(w io.Writer, o Options) (logr.Logger, error) {
	if err := o.Validate(); err != nil {
		return logr.Discard(), err
	}
	cfg := zap.NewProductionEncoderConfig()
	cfg.EncodeTime = zapcore.ISO8601TimeEncoder
	var enc zapcore.Encoder
	var opts []zapr.Option
	if o.Format == JSON {
		enc = zapcore.NewJSONEncoder(cfg)
		// The V-level of Info lines, as "v".
		opts = append(opts, zapr.LogInfoLevel("v"))
	} else {
		cfg.EncodeLevel = zapcore.CapitalLevelEncoder
		enc = zapcore.NewConsoleEncoder(cfg)
	}
	// zapr logs V(n) at zap's level -n.
	core := zapcore.NewCore(enc, zapcore.Lock(zapcore.AddSync(w)), zap.NewAtomicLevelAt(zapcore.Level(-o.Verbosity)))
	logger := zapr.NewLoggerWithOptions(zap.New(core), opts...)

	klog.SetLogger(logger)
	var kf flag.FlagSet
	klog.InitFlags(&kf)
	if err := kf.Set("v", strconv.Itoa(min(o.Verbosity, MaxKlogVerbosity))); err != nil {
		return logr.Discard(), err
	}
	return logger, nil
}
