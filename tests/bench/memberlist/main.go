// tests/bench/memberlist/main.go: one hashicorp/memberlist node (Debian's
// golang-github-hashicorp-memberlist-dev, DefaultLANConfig), the reference
// that tests/bench/bench_gossip.sh measures shoal's membership against.
// It prints one line per membership event, "EV <unix ms> join|gone <name>",
// and on SIGTERM leaves the cluster (Leave, then Shutdown) and
// exits 0.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/memberlist"
)

type events struct{ mu sync.Mutex }

func (e *events) emit(kind, name string) {
	e.mu.Lock()
	fmt.Printf("EV %d %s %s\n", time.Now().UnixMilli(), kind, name)
	e.mu.Unlock()
}

func (e *events) NotifyJoin(n *memberlist.Node) { e.emit("join", n.Name) }
// NotifyLeave is called for a death and for a goodbye alike (0.2.2 passes
// a Node whose State field it does not keep), so the event is "gone"; the
// benchmark knows which of the two it caused.
func (e *events) NotifyLeave(n *memberlist.Node) { e.emit("gone", n.Name) }
func (e *events) NotifyUpdate(n *memberlist.Node) {}

func main() {
	name := flag.String("name", "", "node name")
	bind := flag.String("bind", "127.0.0.1", "address")
	port := flag.Int("port", 7946, "port (UDP and TCP)")
	join := flag.String("join", "", "seed host:port")
	flag.Parse()
	c := memberlist.DefaultLANConfig()
	c.Name = *name
	c.BindAddr = *bind
	c.BindPort = *port
	c.AdvertiseAddr = *bind
	c.AdvertisePort = *port
	c.LogOutput = io.Discard
	c.Events = &events{}
	m, err := memberlist.Create(c)
	if err != nil {
		fmt.Fprintln(os.Stderr, "memberlist:", err)
		os.Exit(1)
	}
	fmt.Printf("READY %d\n", time.Now().UnixMilli())
	for *join != "" {
		if _, err := m.Join([]string{*join}); err == nil {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
	m.Leave(5 * time.Second)
	m.Shutdown()
}
