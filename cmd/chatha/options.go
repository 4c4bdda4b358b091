package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// errHelp is returned when --help was asked for; it is not a failure.
var errHelp = errors.New("help shown")

// parseFlags parses args into fs, then fills every flag not given on the
// command line from its CHATHA_* environment variable, else from the YAML
// config named by --config. Precedence: flag, environment, config, default.
// It returns the names of the flags given on the command line.
func parseFlags(fs *flag.FlagSet, args []string, configPath *string, stderr io.Writer) (map[string]bool, error) {
	given, err := parseCommandLine(fs, args, stderr)
	if err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, usageError{fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	}
	return given, fillFlags(fs, given, configPath)
}

// parseCommandLine parses args into fs and returns the names of the flags
// given; the arguments after the flags are left in fs.Args().
func parseCommandLine(fs *flag.FlagSet, args []string, stderr io.Writer) (map[string]bool, error) {
	fs.SetOutput(io.Discard) // a bad flag is told in one line, by the caller
	err := fs.Parse(args)
	fs.SetOutput(stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.Usage()
			return nil, errHelp
		}
		return nil, usageError{err}
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	return given, nil
}

// fillFlags sets every flag not given on the command line from its CHATHA_*
// environment variable, else from the YAML config at *configPath (itself a
// flag, or CHATHA_CONFIG).
func fillFlags(fs *flag.FlagSet, given map[string]bool, configPath *string) error {
	if configPath != nil && !given["config"] {
		if v, ok := os.LookupEnv(envName("config")); ok {
			*configPath = v
		}
	}
	conf, err := loadConfig(configPath)
	if err != nil {
		return usageError{err}
	}
	if err := checkKeys(fs, conf); err != nil {
		return usageError{err}
	}
	var setErr error
	fs.VisitAll(func(f *flag.Flag) {
		if given[f.Name] || setErr != nil {
			return
		}
		if v, ok := os.LookupEnv(envName(f.Name)); ok {
			setErr = wrapSet(fs.Set(f.Name, v), "environment variable "+envName(f.Name))
		} else if v, ok := conf[f.Name]; ok {
			setErr = wrapSet(fs.Set(f.Name, v), "config key "+f.Name)
		}
	})
	return setErr
}

func wrapSet(err error, where string) error {
	if err != nil {
		return usageError{fmt.Errorf("invalid value in %s: %w", where, err)}
	}
	return nil
}

// envName returns the environment variable of a flag: --cluster-token is CHATHA_CLUSTER_TOKEN.
func envName(flagName string) string {
	return "CHATHA_" + strings.ToUpper(strings.NewReplacer("-", "_", ".", "_").Replace(flagName))
}

// loadConfig reads the YAML file at *path into flat keys: nested maps are
// joined with '-', and the "settings" section's keys stand at the top.
func loadConfig(path *string) (map[string]string, error) {
	out := map[string]string{}
	if path == nil || *path == "" {
		return out, nil
	}
	data, err := os.ReadFile(*path)
	if err != nil {
		return nil, fmt.Errorf("cannot read config: %w", err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("cannot parse config %s: %w", *path, err)
	}
	if err := flatten("", doc, out); err != nil {
		return nil, fmt.Errorf("config %s: %w", *path, err)
	}
	return out, nil
}

func flatten(prefix string, m map[string]any, out map[string]string) error {
	for k, v := range m {
		key := k
		if prefix != "" && prefix != "settings" {
			key = prefix + "-" + k
		}
		switch v := v.(type) {
		case map[string]any:
			if err := flatten(key, v, out); err != nil {
				return err
			}
		case []any:
			parts := make([]string, len(v))
			for i, e := range v {
				parts[i] = fmt.Sprint(e)
			}
			out[key] = strings.Join(parts, ",")
		case nil:
			out[key] = ""
		default:
			out[key] = fmt.Sprint(v)
		}
	}
	return nil
}

// checkKeys rejects config keys that name no flag.
func checkKeys(fs *flag.FlagSet, conf map[string]string) error {
	var unknown []string
	for k := range conf {
		if fs.Lookup(k) == nil || k == "config" {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return fmt.Errorf("unknown config keys: %s", strings.Join(unknown, ", "))
	}
	return nil
}
