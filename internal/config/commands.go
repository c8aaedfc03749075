package config

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// Modes of the one binary.
const (
	ModeAll       = "all"       // everything in one process, with an embedded Temporal
	ModeWorker    = "worker"    // the Temporal worker only
	ModeServer    = "server"    // the HTTP server only
	ModeTemporal  = "temporal"  // the embedded Temporal server and UI only
	ModeDirectory = "directory" // directory apply: bring in partners, customers, sites, administrators
	ModeDevOIDC   = "dev-oidc"  // a sign-in provider for trying SSO on one machine (not a service mode)
	ModeInspect   = "inspect"   // what the engine knows of one assignment (not a service mode)
	ModeNewKey    = "new-key"   // write a new SECRET_KEY to a file that does not exist yet (not a service mode)
)

// DirectoryApply is the one sub-command of directory mode.
const DirectoryApply = "apply"

// Command is a subcommand of the one binary.
type Command struct {
	Mode string // the mode it runs
	Name string // what to type; "" for the mode without a command
	Help string // one line
}

// Commands lists the subcommands, for help and for checking the command line.
var Commands = []Command{
	{ModeAll, "", "everything in one process: embedded Temporal server and UI, worker, HTTP server, demo data"},
	{ModeWorker, ModeWorker, "the Temporal worker alone, against TEMPORAL_ADDRESS"},
	{ModeServer, ModeServer, "the HTTP server (API and pages) alone, against TEMPORAL_ADDRESS"},
	{ModeTemporal, ModeTemporal, "the embedded Temporal server and UI alone, to run the split topology without Docker"},
	{ModeDirectory, ModeDirectory, "apply -f FILE: bring in partners, customers, sites and their first administrators (invited by email) from a YAML file; idempotent"},
	{ModeInspect, ModeInspect, "ID: what Temporal knows of one assignment: the status query, a timeline, the history's events and the Temporal UI link (the one-process service's, or TEMPORAL_ADDRESS with the service's keys)"},
	{ModeNewKey, ModeNewKey, "FILE: write a new random SECRET_KEY (base64) to FILE, which must not exist yet: a key already there is never replaced"},
	{ModeDevOIDC, ModeDevOIDC, "[-addr 127.0.0.1:9400]: an OpenID Connect provider that signs in whoever the login page names, for trying SSO on one machine"},
}

// Usage writes the help: the commands, then every setting with its default.
func Usage(w io.Writer) {
	fmt.Fprintf(w, "Partner Access: time-bound, customer-approved access for business partners.\n\n")
	fmt.Fprintf(w, "Usage: partneraccess [command] [flags]\n\nCommands:\n")
	for _, c := range Commands {
		name := c.Name
		if name == "" {
			name = "(none)"
		}
		fmt.Fprintf(w, "  %-10s %s\n", name, c.Help)
	}
	fmt.Fprintf(w, "  %-10s %s\n", "help", "show this help (also -h, --help)")
	fmt.Fprintf(w, "\nSettings: an environment variable each, or the flag beside it (flags win):\n\n")
	fs, _ := newFlagSet(ModeAll, func(string) string { return "" })
	fs.SetOutput(w)
	fs.PrintDefaults()
}

func knownMode(mode string) bool {
	for _, c := range Commands {
		if c.Mode == mode {
			return true
		}
	}
	return false
}

// commandList names the commands for an error message.
func commandList() string {
	names := make([]string, 0, len(Commands))
	for _, c := range Commands {
		if c.Name == "" {
			names = append(names, "none (everything)")
		} else {
			names = append(names, strconv.Quote(c.Name))
		}
	}
	return strings.Join(names, ", ")
}

// directoryCommand takes the sub-command off directory mode's arguments:
// "apply" is the only one.
func directoryCommand(args []string) ([]string, error) {
	usage := "partneraccess directory apply -f directory.yaml"
	switch {
	case len(args) > 0 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help"):
		return args, nil
	case len(args) == 0 || strings.HasPrefix(args[0], "-"):
		return nil, fmt.Errorf("directory: say what to do: %s", usage)
	case args[0] != DirectoryApply:
		return nil, fmt.Errorf("directory: unknown command %q; the only one is %q: %s", args[0], DirectoryApply, usage)
	}
	return args[1:], nil
}

// checkDirectory checks the settings of directory apply.
func (c *Config) checkDirectory(get func(string) string, bad func(env, format string, args ...any)) {
	c.DirectoryFile = get("DIRECTORY_FILE")
	var err error
	if v := get("DIRECTORY_RESEND"); v == "" {
		c.DirectoryResend = false
	} else if c.DirectoryResend, err = strconv.ParseBool(v); err != nil {
		bad("DIRECTORY_RESEND", "%q is not true or false", get("DIRECTORY_RESEND"))
	}
	if c.DirectoryFile == "" {
		bad("DIRECTORY_FILE", "is required: partneraccess directory apply -f directory.yaml (deploy/directory.example.yaml is an example)")
	} else if st, err := os.Stat(c.DirectoryFile); err != nil {
		bad("DIRECTORY_FILE", "%v", err)
	} else if st.IsDir() {
		bad("DIRECTORY_FILE", "%s is a directory, not a file", c.DirectoryFile)
	}
}
