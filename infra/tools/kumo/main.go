// Command kumo serves the kumo AWS emulator (github.com/sivchari/kumo) on a
// fixed address, for the local ordo stack (SQS, Kinesis, Lambda).
//
// It adds Lambda's EventInvokeConfig API and destination records for
// asynchronous invokes, which kumo lacks (see destinations.go).
//
// kumo's own CLI cannot be installed on the project machines, so this
// wrapper starts the emulator in-process with kumo.NewServer (which listens
// on a random loopback port) and reverse-proxies a fixed address to it.
//
//	kumo -addr 127.0.0.1:4566
//
// The address comes from -addr, else $ORDO_KUMO_ADDR, else
// 127.0.0.1:$ORDO_KUMO_PORT, else 127.0.0.1:4566. SIGINT/SIGTERM shut it down
// cleanly.
package main

import (
	"context"
	"errors"
	"flag"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/sivchari/kumo"
)

func defaultAddr() string {
	if a := os.Getenv("ORDO_KUMO_ADDR"); a != "" {
		return a
	}
	if p := os.Getenv("ORDO_KUMO_PORT"); p != "" {
		return net.JoinHostPort("127.0.0.1", p)
	}
	return "127.0.0.1:4566"
}

func main() {
	addr := flag.String("addr", defaultAddr(), "address to listen on")
	flag.Parse()
	log.SetPrefix("kumo: ")

	srv := kumo.NewServer()
	defer srv.Close()
	target, err := url.Parse(srv.URL)
	if err != nil {
		log.Fatalf("parse kumo URL %q: %v", srv.URL, err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	// Lambda runtime long-polls (/_runtime/.../next) must stream promptly.
	proxy.FlushInterval = -1
	proxy.Transport = &http.Transport{
		Proxy:               nil,
		MaxIdleConns:        256,
		MaxIdleConnsPerHost: 256,
		IdleConnTimeout:     90 * time.Second,
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatalf("listen %s: %v", *addr, err)
	}
	// Asynchronous invokes' destinations, which kumo lacks (destinations.go).
	sqsClient := sqs.New(sqs.Options{Region: region, BaseEndpoint: aws.String(srv.URL),
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")})
	hs := &http.Server{Handler: newDestinations(proxy, srv.URL, sqsClient), ReadHeaderTimeout: 10 * time.Second}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	log.Printf("serving %s on http://%s", srv.URL, ln.Addr())

	select {
	case <-ctx.Done():
		log.Printf("shutting down")
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			log.Fatalf("serve: %v", err)
		}
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		// Long-polling clients (runtime /next, SQS WaitTimeSeconds) may hold
		// connections open; close them rather than wait.
		_ = hs.Close()
	}
}
