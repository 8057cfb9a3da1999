#!/bin/busybox sh
# The VM test's agent inside the guest (run by guest-init.sh in the chroot of the host's root): runs each
# command file the host test drops into the shared directory, in the background, and reports back through it.
#   host writes  cmd/N.sh              (renamed into place, N = 0, 1, 2, ... in order)
#   agent writes out/N.out, out/N.err  (the command's stdout and stderr, as they are written)
#                out/N.rc              (its exit status, renamed into place once it ended)
#   host writes  cmd/stop              the agent returns and the guest powers off
# It runs under the host's static busybox (guest-init.sh starts it so): its applets need no exec, and every exec
# of a dynamically linked program costs 0.1-0.3 s under TCG over 9p. The commands run under /bin/sh
# (not busybox's sh, whose applets such as timeout differ from coreutils).
share=$1
cd "$share" || exit 1
mkdir -p out

export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root LANG=C.UTF-8 XDG_RUNTIME_DIR=/run/user/0
mkdir -p "$XDG_RUNTIME_DIR"
chmod 700 "$XDG_RUNTIME_DIR"

read -r uptime idle < /proc/uptime
echo "$uptime" > out/agent.tmp && mv out/agent.tmp out/agent.ready
echo "wayvio-vm: agent ready" > /dev/console

n=0
while [ ! -e cmd/stop ]; do
  if [ -e "cmd/$n.sh" ]; then
    (
      /bin/sh "cmd/$n.sh" > "out/$n.out" 2> "out/$n.err" < /dev/null
      echo $? > "out/$n.rc.tmp"
      mv "out/$n.rc.tmp" "out/$n.rc"
    ) &
    n=$((n + 1))
  else
    sleep 0.05
  fi
done
# commands still running (the guest proxy) end with the power-off that follows
sync
