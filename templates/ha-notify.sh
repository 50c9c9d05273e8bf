# {{ header }}
#
# Run by keepalived on every state change of {{ member }}'s VRRP instance, as
# `/bin/sh {{ config_dir }}/ha-notify.sh INSTANCE {{ host }} STATE PRIORITY`
# (`notify` in keepalived.conf: no executable bit needed).
# conntrackd writes the peer's connections straight into the kernel
# (DisableExternalCache), so the backup already holds them: on becoming master
# the member takes over sending its table to the peer.
conntrackd="/usr/sbin/conntrackd -C {{ config_dir }}/conntrackd.conf"
case "$3" in
MASTER)
    # Commit what an external cache would hold (none here: harmless), flush
    # the caches, resynchronise the internal cache with the kernel's table,
    # then send everything to the peer.
    $conntrackd -c
    $conntrackd -f
    $conntrackd -R
    $conntrackd -B
    ;;
BACKUP)
    # Ask the peer for its whole table. The connections' timers are left as
    # they are: they are the active member's, not shortened here.
    $conntrackd -n
    ;;
esac
exit 0
