#!/bin/busybox sh
# /init of the VM test's initramfs: loads the virtio modules, mounts the host's root read-only over 9p,
# chroots into it and runs the guest agent; powers off when the agent ends. Kernel parameters read here:
#   wayvio.agent=PATH    the agent script (a path on the host, seen through the 9p root)
#   wayvio.share=DIR     where the read-write "results" share is mounted inside the chroot
# Lines starting with "wayvio-vm:" on the serial console are markers the host test reads.
export PATH=/bin
/bin/busybox mkdir -p /bin /proc /sys /dev /host
/bin/busybox --install -s /bin

mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev

say() { echo "wayvio-vm: [$(cut -d' ' -f1 /proc/uptime)] $*" > /dev/console; }
fail() {
  say "init failed: $*"
  poweroff -f
}

for m in $(cat /modules/order); do
  insmod "/modules/$m.ko" || fail "insmod $m"
done

say "modules loaded"
agent=""
repo=""
share=/run/wayvio-vm
for arg in $(cat /proc/cmdline); do
  case "$arg" in
    wayvio.agent=*) agent="${arg#wayvio.agent=}" ;;
    wayvio.share=*) share="${arg#wayvio.share=}" ;;
    wayvio.repo=*) repo="${arg#wayvio.repo=}" ;;
  esac
done
[ -n "$agent" ] || fail "no wayvio.agent= on the kernel command line"

# virtio-serial ports under their names, as udev would link them
mkdir -p /dev/virtio-ports
for p in /sys/class/virtio-ports/*; do
  [ -e "$p/name" ] || continue
  name=$(cat "$p/name")
  [ -n "$name" ] || continue
  dev=$(cat "$p/dev")
  mknod "/dev/virtio-ports/$name" c "${dev%%:*}" "${dev##*:}" || fail "mknod $name"
done
mkdir -p /dev/shm /dev/pts
mount -t tmpfs -o mode=1777 shm /dev/shm
mount -t devpts devpts /dev/pts

# multidevs=remap on the host side keeps inode numbers unique across the host's file systems
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000,cache=loose,ro hostroot /host || fail "mount hostroot"
mount -t proc proc /host/proc
mount -t sysfs sys /host/sys
mount --rbind /dev /host/dev
mount -t tmpfs -o mode=755 run /host/run
mount -t tmpfs -o mode=1777 tmp /host/tmp
# the repository gets its own share: a checkout under /tmp or /run is hidden by the tmpfs above
if [ -n "$repo" ]; then
  mkdir -p "/host$repo" 2>/dev/null
  mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000,cache=loose,ro repo "/host$repo" || fail "mount repo"
fi
mkdir -p "/host$share"
# no cache: every file the host test writes is seen at once, every byte written here reaches the host
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 results "/host$share" || fail "mount results"
ifconfig lo 127.0.0.1 up 2>/dev/null

say "init done, starting the agent"
chroot /host /bin/busybox sh "$agent" "$share"
say "agent exited with $?"
sync
poweroff -f
