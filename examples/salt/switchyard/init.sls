{#-
  Install one host's switchyard artifacts and reload what changed: the same
  steps as examples/ansible/roles/switchyard.

  manifest.json (schema/manifest.schema.json) selects this host's files, and each
  file's sha256 from it becomes the `source_hash` that Salt verifies on download.
  `check_cmd: nft -c -f` refuses a script the kernel would not load.
#}
{%- import_yaml 'switchyard/defaults.yaml' as defaults %}
{%- set sy = salt['slsutil.merge'](defaults.switchyard, salt['pillar.get']('switchyard', {})) %}
{%- set host = sy.host or grains['id'] %}
{%- set manifest = salt['cp.get_file_str'](sy.build ~ '/manifest.json') | load_json %}
{%- set files = manifest.files | selectattr('host', 'equalto', host) | list %}
{%- set nft = files | selectattr('path', 'equalto', host ~ '/switchyard.nft') | first %}
{%- set ip = files | selectattr('path', 'equalto', host ~ '/switchyard.ip') | first %}
{%- set units = [] %}
{%- for file in files if '/networkd/' in file.path %}{% do units.append(file) %}{% endfor %}

{%- if sy.backend not in ['ip', 'networkd'] or not files %}
switchyard-refused:
  test.fail_without_changes:
{%- if not files %}
    - name: "{{ sy.build }}/manifest.json has no files for host {{ host }}"
{%- else %}
    - name: "pillar switchyard:backend must be ip or networkd, not {{ sy.backend }}"
{%- endif %}
{%- else %}

switchyard-dir:
  file.directory:
    - name: {{ sy.dest }}
    - mode: '0755'
    - makedirs: True

{%- if sy.manage_sysctl %}

switchyard-sysctl:
  file.managed:
    - name: {{ sy.sysctl_dest }}/60-switchyard.conf
    - mode: '0644'
    - makedirs: True
    - contents: |
        # Managed by Salt (state switchyard, host {{ host }})
        # Forward between the VMs' LAN and the uplinks.
        net.ipv4.ip_forward = 1
        # Loose reverse-path filtering: replies may arrive on another uplink than
        # the one the main table would pick for their source.
        net.ipv4.conf.all.rp_filter = 2
        net.ipv4.conf.default.rp_filter = 2
        # No ICMP redirects: hairpinned traffic, and traffic between private
        # networks on one LAN, leaves by the interface it arrived on (interfaces
        # that exist already keep their own setting; set it on the LAN ones too).
        net.ipv4.conf.all.send_redirects = 0
        net.ipv4.conf.default.send_redirects = 0

switchyard-sysctl-apply:
  cmd.run:
    - name: sysctl -p {{ sy.sysctl_dest }}/60-switchyard.conf
    - onchanges:
      - file: switchyard-sysctl
{%- endif %}

switchyard-nft:
  file.managed:
    - name: {{ sy.dest }}/switchyard.nft
    - source: {{ sy.build }}/{{ nft.path }}
    - source_hash: sha256={{ nft.sha256 }}
    - mode: '0644'
    - check_cmd: nft -c -f
    - require:
      - file: switchyard-dir

# Loading the script replaces table `inet switchyard` atomically.
switchyard-nft-reload:
  cmd.run:
    - name: nft -f {{ sy.dest }}/switchyard.nft
    - onchanges:
      - file: switchyard-nft
{%- if sy.manage_sysctl %}
    - require:
      - cmd: switchyard-sysctl-apply
{%- endif %}

{%- if sy.backend == 'ip' %}

switchyard-ip:
  file.managed:
    - name: {{ sy.dest }}/switchyard.ip
    - source: {{ sy.build }}/{{ ip.path }}
    - source_hash: sha256={{ ip.sha256 }}
    - mode: '0644'
    - require:
      - file: switchyard-dir

# Flushes every rule and route tagged with switchyard's protocol number, then
# adds the new ones: loading it again leaves exactly its state.
switchyard-ip-reload:
  cmd.run:
    - name: ip -batch {{ sy.dest }}/switchyard.ip
    - onchanges:
      - file: switchyard-ip
    - require:
      - cmd: switchyard-nft-reload
{%- else %}
{%- set wanted = [] %}
{#- A unit's path below the host's networkd/ is its path below networkd_dest: a
    drop-in for an administrator's own unit lives in that unit's `.d` directory. #}
{%- for unit in units %}
{%- set name = unit.path.split('/', 2) | last %}
{%- do wanted.append(name) %}

switchyard-unit-{{ name }}:
  file.managed:
    - name: {{ sy.networkd_dest }}/{{ name }}
    - source: {{ sy.build }}/{{ unit.path }}
    - source_hash: sha256={{ unit.sha256 }}
    - mode: '0644'
    - makedirs: True
    - onchanges_in:
      - cmd: switchyard-networkd-reload
{%- endfor %}
{#- Units of uplinks no longer in the topology would otherwise stay configured. #}
{%- for stale in salt['file.find'](sy.networkd_dest, name='10-switchyard-*', type='f', maxdepth=2) %}
{%- set name = stale[sy.networkd_dest | length + 1:] %}
{%- if name not in wanted %}

switchyard-stale-{{ name }}:
  file.absent:
    - name: {{ stale }}
    - onchanges_in:
      - cmd: switchyard-networkd-reload
{%- endif %}
{%- endfor %}

switchyard-networkd-reload:
  cmd.run:
    - name: networkctl reload
{%- endif %}

{#- With [failover] the build has the host's uplink monitor: its configuration and
    systemd unit; systemd is reloaded, the unit enabled and the monitor restarted
    when either changed (after the nft reload: it keeps a set in that table). #}
{%- set monitor = files | selectattr('path', 'equalto', host ~ '/monitor.json') | list %}
{%- set unit = files | selectattr('path', 'equalto', host ~ '/systemd/switchyard-monitor.service') | list %}
{%- if monitor and unit %}

switchyard-monitor-config:
  file.managed:
    - name: {{ sy.dest }}/monitor.json
    - source: {{ sy.build }}/{{ monitor[0].path }}
    - source_hash: sha256={{ monitor[0].sha256 }}
    - mode: '0644'
    - require:
      - file: switchyard-dir

switchyard-monitor-unit:
  file.managed:
    - name: {{ sy.systemd_dest }}/switchyard-monitor.service
    - source: {{ sy.build }}/{{ unit[0].path }}
    - source_hash: sha256={{ unit[0].sha256 }}
    - mode: '0644'

switchyard-monitor-restart:
  cmd.run:
    - name: >-
        {{ sy.systemctl }} daemon-reload &&
        {{ sy.systemctl }} enable switchyard-monitor.service &&
        {{ sy.systemctl }} restart switchyard-monitor.service
    - onchanges:
      - file: switchyard-monitor-config
      - file: switchyard-monitor-unit
    - require:
      - cmd: switchyard-nft-reload
{%- endif %}
{%- endif %}
