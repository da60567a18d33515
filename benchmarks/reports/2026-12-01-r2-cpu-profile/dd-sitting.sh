#!/bin/bash
# one sitting: fresh cluster (3 meta, 3 daemons, R=2), four 768 MiB dd's of new files with conv=fsync
label=$1
cd /tmp/pf && rm -rf d && mkdir -p m
(nohup /work/main/bin/shoal local --dir /tmp/pf/d --mount /tmp/pf/m --meta-replicas 3 --storage-daemons 3 --replication 2 > /tmp/pf/local-$label.log 2>&1 &)
for i in $(seq 1 120); do grep -q "^ready:" /tmp/pf/local-$label.log && break; sleep 1; done
for f in 1 2 3 4; do echo "$label run $f: $(dd if=/dev/zero of=/tmp/pf/m/$label-$f bs=1M count=768 conv=fsync 2>&1 | tail -1)"; done
du -sb /tmp/pf/d | tail -1
pkill -TERM -f 'ShoalMain local'; sleep 8
