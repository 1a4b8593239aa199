#!/bin/busybox sh
# vmemscope kernel validation: the guest's /init. Reports what the kernel did, one "VMS <step> <json>"
# line per step on ttyS0, and takes its orders ("step NAME FIRST_BLOCK NBLOCKS", "hugetlb NODE KB COUNT",
# "sysctl NAME VALUE", "heads FIRST_PFN NPFNS", "done") from ttyS1, written by validate/harness.py on
# the host.
/bin/busybox --install -s /bin
mount -t proc proc /proc; mount -t sysfs sysfs /sys; mount -t devtmpfs dev /dev
exec </dev/ttyS1
stty -echo 2>/dev/null

memtotal() { awk '/^MemTotal:/ {print $2}' /proc/meminfo; }

blocks_json() {
  first=1; printf '['
  for d in /sys/devices/system/memory/memory*; do
    id=${d##*memory}; st=$(cat $d/state); node=-1
    for n in $d/node*; do [ -e "$n" ] && node=${n##*node}; done
    [ $first = 1 ] || printf ','; first=0
    printf '{"id":%s,"state":"%s","node":%s}' "$id" "$st" "$node"
  done
  printf ']'
}

# PG_owner_priv_1 (bit 37: PageVmemmapSelfHosted) over a block's first 1024 pfns: count, first, last
selfhosted_json() {
  pfn=$1
  dd if=/proc/kpageflags bs=8 skip=$pfn count=1024 2>/dev/null | od -An -v -tx8 | awk -v base=$pfn '
    { for (i = 1; i <= NF; i++) { w = $i; d = index("0123456789abcdef", substr(w, 7, 1)) - 1;
        if (int(d / 2) % 2 == 1) { if (n == 0) f = k; l = k; n++ } k++ } }
    END { printf "{\"count\":%d,\"first\":%d,\"last\":%d}", n, (n ? base + f : -1), (n ? base + l : -1) }'
}

# HugeTLB heads (kpageflags COMPOUND_HEAD, bit 15, and HUGE, bit 17) among NPFNS pfns from FIRST_PFN;
# heads are 2 MiB aligned, so one kpageflags word in 512 is looked at (od -w4096: a line per 512 pfns)
heads_json() {
  dd if=/proc/kpageflags bs=4096 skip=$(($1 / 512)) count=$(($2 / 512)) 2>/dev/null | od -An -v -tx8 -w4096 |
  awk -v base=$1 '
    BEGIN { printf "[" }
    { w = $1; h = index("0123456789abcdef", substr(w, 13, 1)) - 1; g = index("0123456789abcdef", substr(w, 12, 1)) - 1;
      if (h >= 8 && int(g / 2) % 2 == 1) { printf "%s%d", sep, base + k * 512; sep = "," } k++ }
    END { printf "]" }'
}

report() {  # report NAME JSON-EXTRA
  echo "VMS $1 {\"memtotal_kb\":$(memtotal),\"blocks\":$(blocks_json)$2}"
}

bsz=$(( 0x$(cat /sys/devices/system/memory/block_size_bytes) ))
ps=$(getconf PAGESIZE 2>/dev/null || echo 4096)
echo "VMS boot {\"uname\":\"$(uname -r)\",\"block_size\":$bsz,\"memtotal_kb\":$(memtotal),\"blocks\":$(blocks_json),\"cmdline\":\"$(cat /proc/cmdline)\"}"
while read -r cmd a b c; do
  case "$cmd" in
    step)   # step NAME FIRST_BLOCK NBLOCKS: wait until the blocks exist and are online (ACPI hot-plug
            # is asynchronous), then report
      name=$a; first=$b; n=$c
      i=0; while [ $i -lt 600 ]; do
        ok=1; j=$first; while [ $j -lt $((first + n)) ]; do
          [ "$(cat /sys/devices/system/memory/memory$j/state 2>/dev/null)" = online ] || ok=0; j=$((j + 1)); done
        [ $ok = 1 ] && break; i=$((i + 1)); sleep 0.1; done
      sh_json=''; j=$first; while [ $j -lt $((first + n)) ]; do
        sh_json="$sh_json${sh_json:+,}\"$j\":$(selfhosted_json $((j * bsz / 4096)))"; j=$((j + 1)); done
      report "$name:$first" ",\"selfhosted\":{$sh_json}" ;;
    hugetlb)
      f=/sys/devices/system/node/node$a/hugepages/hugepages-${b}kB/nr_hugepages
      echo $c > $f 2>/dev/null
      report "hugetlb:$a:$b" ",\"nr_hugepages\":$(cat $f)" ;;
    sysctl)
      echo $b > /proc/sys/vm/$a 2>/dev/null
      report "sysctl:$a" ",\"value\":\"$(cat /proc/sys/vm/$a 2>/dev/null)\"" ;;
    heads)
      echo "VMS heads {\"heads\":$(heads_json $a $b)}" ;;
    done)
      echo "VMS done {}"; poweroff -f ;;
  esac
done
