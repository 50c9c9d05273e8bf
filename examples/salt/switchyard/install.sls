{#-
  Once `switchyard apply` succeeded (apply.sls): the build where the boot
  units apply it (the checked copy, into dest/build), each file the backend
  uses in its place (one state per file: a new kind of file needs only its
  place in map.jinja), the boot units enabled, networkd reloaded when its
  units changed, and each daemon of the build (the uplink monitor;
  conntrackd and keepalived on a member of a pair) restarted when it does
  not run the build's configuration.
#}
{%- from 'switchyard/map.jinja' import switchyard as sy, boot_copy, install_from, files, install,
                                       daemons with context %}

{%- for file in files %}

switchyard-boot-copy-{{ file.path.split('/', 1) | last }}:
  file.managed:
    - name: {{ boot_copy }}/{{ file.path }}
    - source: {{ install_from }}/{{ file.path }}
    - mode: '0644'
    - makedirs: True
    - require:
      - cmd: switchyard-apply
{%- endfor %}

# Last, so that the boot units never read a manifest whose files are not there.
switchyard-boot-copy-manifest:
  file.managed:
    - name: {{ boot_copy }}/manifest.json
    - source: {{ install_from }}/manifest.json
    - mode: '0644'
    - require:
{%- for file in files %}
      - file: switchyard-boot-copy-{{ file.path.split('/', 1) | last }}
{%- endfor %}

# Files of an earlier build (an update, units of a removed uplink) go: the
# copy holds this build's files only.
switchyard-boot-copy-clean:
  file.directory:
    - name: {{ boot_copy }}/{{ sy.host }}
    - clean: True
    - require:
{%- for file in files %}
      - file: switchyard-boot-copy-{{ file.path.split('/', 1) | last }}
{%- endfor %}

{%- for file in install %}

switchyard-install-{{ file.relative }}:
  file.managed:
    - name: {{ file.dest }}
    - source: {{ install_from }}/{{ file.path }}
    - mode: '0644'
    - makedirs: True
    - backup: minion
    - require:
      - cmd: switchyard-apply
{%- if file.place == 'systemd' and sy.enable_units %}

switchyard-enable-{{ file.relative }}:
  service.enabled:
    - name: {{ file.dest.split('/') | last }}
    - require:
      - file: switchyard-install-{{ file.relative }}
{%- endif %}
{%- endfor %}

{#- What earlier versions of this state installed and loaded: the nft script,
    ip batch and update (now read from the build copy) and a sysctl file whose
    loose rp_filter loses replies on a host without a main-table default. #}
{%- for earlier in [sy.dest ~ '/switchyard.nft', sy.dest ~ '/switchyard.update.nft',
                    sy.dest ~ '/switchyard.ip', sy.sysctl_dest ~ '/60-switchyard.conf'] %}

switchyard-earlier-{{ earlier.split('/') | last }}:
  file.absent:
    - name: {{ earlier }}
    - require:
      - cmd: switchyard-apply
{%- endfor %}

{%- if sy.backend == 'networkd' %}
{%- set units = install | selectattr('place', 'equalto', 'networkd') | list %}
{#- Units of uplinks no longer in the topology would otherwise stay configured. #}
{%- set stale = salt['file.find'](sy.networkd_dest, name='10-switchyard-*', type='f', maxdepth=2)
                | reject('in', units | map(attribute='dest') | list) | list %}
{%- for path in stale %}

switchyard-stale-{{ path[sy.networkd_dest | length + 1:] }}:
  file.absent:
    - name: {{ path }}
    - require:
      - cmd: switchyard-apply
{%- endfor %}

# networkd takes over the rules and routes apply made (they compare equal, so
# the next apply finds nothing to change).
switchyard-networkd-reload:
  cmd.run:
    - name: networkctl reload
    - onchanges:
{%- for file in units %}
      - file: switchyard-install-{{ file.relative }}
{%- endfor %}
{%- for path in stale %}
      - file: switchyard-stale-{{ path[sy.networkd_dest | length + 1:] }}
{%- endfor %}
{%- endif %}

{#- The daemons the build configures (map.jinja: the uplink monitor with
    [failover]; conntrackd and keepalived on a member of a pair), in order,
    each restarted (systemd reloaded, the distribution's unit it replaces
    masked, its unit enabled so it starts at boot) whenever the
    configuration it was last restarted with, recorded in state_dir, is not
    the build's: a run that failed after installing the files, before or
    during the restart, leaves the old record, so the next run restarts it;
    a run that changed none of its files leaves it running. A failed restart
    stops the daemons after it. After apply and every file: the monitor
    keeps a set in table inet switchyard, keepalived adds the shared
    addresses beside the member's own and runs ha-notify.sh. #}
{%- for daemon in daemons %}

switchyard-{{ daemon.name }}-restart:
  cmd.run:
    - name: >-
        {{ sy.systemctl }} daemon-reload &&
{%- if daemon.replaces %}
        {{ sy.systemctl }} mask --now {{ daemon.replaces }} &&
{%- endif %}
        {{ sy.systemctl }} enable {{ daemon.unit }} &&
        {{ sy.systemctl }} restart {{ daemon.unit }} &&
        printf '%s' '{{ daemon.config }}' > {{ daemon.record }}
    - unless: test "$(cat {{ daemon.record }} 2>/dev/null)" = '{{ daemon.config }}'
    - require:
{%- for file in install %}
      - file: switchyard-install-{{ file.relative }}
{%- endfor %}
{%- if loop.previtem is defined %}
      - cmd: switchyard-{{ loop.previtem.name }}-restart
{%- endif %}
{%- endfor %}
