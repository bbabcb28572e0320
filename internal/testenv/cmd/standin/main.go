// Command standin builds the SDK stand-in image, a TEST FIXTURE that honours the OpenWrt SDK
// container contract (see builder/testdata/sdk-standin/README.md), so that
// `openwrt-ppa build --image openwrt-ppa/sdk-standin:latest` runs a whole build by hand.
// It is what `make sdk-standin` runs.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/openwrt-ppa/openwrt-ppa/internal/testenv"
)

func main() {
	tag := flag.String("tag", testenv.StandinRepo+":latest", "also tag the image with this name")
	flag.Parse()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := run(ctx, *tag); err != nil {
		fmt.Fprintln(os.Stderr, "standin:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, tag string) error {
	busybox, err := testenv.StaticBusybox()
	if err != nil {
		return err
	}
	cli, err := testenv.NewDockerClient(ctx)
	if err != nil {
		return err
	}
	defer cli.Close()
	built, err := testenv.BuildStandin(ctx, cli, busybox, tag)
	if err != nil {
		return err
	}
	fmt.Printf("built %s (also tagged %s) — a test fixture, not an OpenWrt SDK\n", built, tag)
	return nil
}
