#!/bin/sh
# Stand-in for the official images' setup.sh (test fixture). Like the real one it always
# downloads the SDK archive named by $DOWNLOAD_FILE from $FILE_HOST and unpacks it into the
# current folder, whether or not an SDK is there already; it needs the network (the stand-in
# counts a network interface other than lo as one) and "downloads" from /standin/sdk.
set -e
echo "setup.sh: downloading $FILE_HOST/$VERSION_PATH/targets/$TARGET/$DOWNLOAD_FILE"
net=$(ls /sys/class/net 2>/dev/null | grep -vx lo || true)
if [ -z "$net" ]; then
	echo "wget: bad address '$FILE_HOST'" >&2
	exit 4
fi
cp -a /standin/sdk/. .
echo "setup.sh: unpacked the SDK into $PWD"
