#!/bin/sh
# Stand-in for the SDK image's setup.sh (which downloads the SDK in snapshot images).
echo "setup.sh: the SDK is already here (stand-in)"
