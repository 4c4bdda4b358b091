package cassandra

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gocql/gocql"
)

func TestParseURL(t *testing.T) {
	c, err := ParseURL("cassandra://10.0.0.1,10.0.0.2,10.0.0.3:9142/chat_prod?consistency=quorum&dc=eu-west" +
		"&username=chatha&password=p%40ss&tls-ca=/etc/ca.pem&tls-cert=/etc/c.pem&tls-key=/etc/k.pem" +
		"&tls-verify-host=false&connect-timeout=3s&timeout=4s&create=true&ttl=12h&serial-consistency=SERIAL")
	if err != nil {
		t.Fatal(err)
	}
	want := DefaultConfig()
	want.Hosts = []string{"10.0.0.1", "10.0.0.2", "10.0.0.3"}
	want.Port = 9142
	want.Keyspace = "chat_prod"
	want.Consistency = gocql.Quorum
	want.SerialConsistency = gocql.Serial
	want.LocalDC = "eu-west"
	want.Replication = "eu-west:3"
	want.Username, want.Password = "chatha", "p@ss"
	want.TLS, want.TLSCAFile, want.TLSCertFile, want.TLSKeyFile = true, "/etc/ca.pem", "/etc/c.pem", "/etc/k.pem"
	want.TLSVerifyHost = false
	want.ConnectTimeout, want.RequestTimeout = 3*time.Second, 4*time.Second
	want.CreateSchema = true
	want.TTL = 12 * time.Hour
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("ParseURL =\n%+v\nwant\n%+v", c, want)
	}
}

func TestParseURLMinimalAndIPv6(t *testing.T) {
	c, err := ParseURL("cassandra://[::1],[fd00::2]:9043/chatha")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c.Hosts, []string{"::1", "fd00::2"}) || c.Port != 9043 || c.Consistency != gocql.LocalQuorum {
		t.Fatalf("ParseURL = %+v", c)
	}
}

func TestParseURLErrorsNameTheBadPart(t *testing.T) {
	for _, tc := range []struct{ url, bad string }{
		{"sqlite:x.db", "cassandra://"},
		{"cassandra://h1", "no keyspace"},
		{"cassandra:///ks", "no hosts"},
		{"cassandra://h1,,h2/ks", "empty host"},
		{"cassandra://h1:9042,h2:9043/ks", "two ports"},
		{"cassandra://h1:x/ks", `port "x"`},
		{"cassandra://h1:99999/ks", `port "99999"`},
		{"cassandra://::1/ks", "brackets"},
		{"cassandra://u:p@h1/ks", "username="},
		{"cassandra://h1/Bad-KS", "Keyspace"},
		{"cassandra://h1/ks?consistency=MOST", "consistency"},
		{"cassandra://h1/ks?consistency=ANY", "Consistency"},
		{"cassandra://h1/ks?serial-consistency=ONE", "serial-consistency"},
		{"cassandra://h1/ks?timeout=soon", "timeout"},
		{"cassandra://h1/ks?create=yes", "create"},
		{"cassandra://h1/ks?ttl=1ms", "TTL"},
		{"cassandra://h1/ks?colour=red", "colour"},
		{"cassandra://h1/ks?ttl=1h&ttl=2h", "ttl"},
		{"cassandra://h1/ks?username=u", "Password"},
		{"cassandra://h1/ks?tls-cert=c.pem", "TLSKeyFile"},
		{"cassandra://h1/ks?replication=dc1", "Replication"},
		{"cassandra://h1/ks?%zz", "parameters"},
		{"cassandra://h1/ks?cas-retries=many", "cas-retries"},
	} {
		_, err := ParseURL(tc.url)
		if err == nil || !strings.Contains(err.Error(), tc.bad) {
			t.Errorf("ParseURL(%q) = %v, want an error naming %q", tc.url, err, tc.bad)
		}
	}
}

func TestURLRoundTrip(t *testing.T) {
	c := DefaultConfig()
	c.Hosts = []string{"a.example", "::1"}
	c.LocalDC, c.Replication = "dc1", "dc1:3,dc2:3"
	c.Username, c.Password = "u", "p&=?"
	c.TLS, c.TLSCAFile = true, "/x/ca.pem"
	got, err := ParseURL(c.URL())
	if err != nil {
		t.Fatalf("ParseURL(%q): %v", c.URL(), err)
	}
	if !reflect.DeepEqual(got, c) {
		t.Fatalf("round trip of %q =\n%+v\nwant\n%+v", c.URL(), got, c)
	}
}

// FuzzParseURL checks that ParseURL never panics, that what it accepts is valid, and
// that URL writes an accepted configuration back to the same configuration.
func FuzzParseURL(f *testing.F) {
	for _, s := range []string{
		"cassandra://127.0.0.1/chatha",
		"cassandra://h1,h2:9042/ks?consistency=LOCAL_ONE&dc=dc1&ttl=1h",
		"cassandra://[::1]:9042/ks?tls=true&tls-verify-host=false",
		"cassandra://h/ks?username=a&password=b&create=1&replication=x:1,y:2",
		"cassandra://h/ks?%",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseURL(s)
		if err != nil {
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("ParseURL(%q) accepted an invalid config: %v", s, err)
		}
		back, err := ParseURL(c.URL())
		if err != nil {
			t.Fatalf("ParseURL(URL()) of %q: %v (URL %q)", s, err, c.URL())
		}
		if !reflect.DeepEqual(back, c) {
			t.Fatalf("round trip of %q changed the config:\n%+v\n%+v", s, c, back)
		}
	})
}
