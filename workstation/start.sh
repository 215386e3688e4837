#!/bin/bash
# Start the workstation on this instance: mount the persistent home volume, pull the image by
# digest, run it with JupyterLab on 127.0.0.1:8888. Run by spiral-workstation.service at every
# boot, so a stopped-then-started instance comes back the same way.
# Settings come from /etc/spiral/workstation.env, written by `spiral workstation up`:
#   SPIRAL_HOME_VOLUME  vol-...          the home volume (attached after launch)
#   SPIRAL_IMAGE        <registry>/<repository>@sha256:...
#   SPIRAL_GPU          true | false
#   SPIRAL_NAMESPACE    user.<owner>     the namespace runs on this box write (the owner's)
#   AWS_DEFAULT_REGION  the project's region
set -euo pipefail

mount_point=/mnt/spiral-home
state_dir=/var/lib/spiral
container=spiral-workstation

# The volume is attached once the instance runs; on Nitro instances it shows up as an NVMe
# device whose serial is the volume id without its hyphen.
device=/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_${SPIRAL_HOME_VOLUME//-/}
for _ in $(seq 1 180); do
  [ -e "$device" ] && break
  [ -e /dev/xvdf ] && device=/dev/xvdf && break  # Xen instance types
  sleep 2
done
if [ ! -e "$device" ]; then
  echo "home volume $SPIRAL_HOME_VOLUME never appeared: is it attached?" >&2
  exit 1
fi
if ! blkid "$device" >/dev/null; then
  echo "formatting the new home volume $SPIRAL_HOME_VOLUME"
  mkfs.ext4 -q -L spiral-home "$device"
fi
mkdir -p "$mount_point"
mountpoint -q "$mount_point" || mount "$device" "$mount_point"

docker pull --quiet "$SPIRAL_IMAGE"
# Files on the home volume belong to the image's own non-root user.
uid=$(docker run --rm --entrypoint id "$SPIRAL_IMAGE" -u)
[ "$(stat -c %u "$mount_point")" = "$uid" ] || chown "$uid" "$mount_point"
install -d -o "$uid" -m 0755 "$state_dir"

gpu_flags=()
[ "$SPIRAL_GPU" = true ] && gpu_flags=(--gpus all)
docker rm --force "$container" >/dev/null 2>&1 || true
docker run --detach --name "$container" --network host --restart on-failure:5 \
  "${gpu_flags[@]}" \
  --volume "$mount_point:/home/spiral" --env HOME=/home/spiral --workdir /home/spiral \
  --volume "$state_dir:$state_dir" --env "SPIRAL_LEASE_FILE=$state_dir/lease.json" \
  --env "JUPYTER_TOKEN=$(cat /etc/spiral/jupyter-token)" \
  --env "SPIRAL_NAMESPACE=$SPIRAL_NAMESPACE" --env SPIRAL_WORKSTATION=1 --env "AWS_DEFAULT_REGION=$AWS_DEFAULT_REGION" \
  "$SPIRAL_IMAGE" jupyter lab --ip=127.0.0.1 --port=8888 --no-browser
echo "workstation running: $SPIRAL_IMAGE"
