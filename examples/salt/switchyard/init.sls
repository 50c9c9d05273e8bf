{#-
  Install one host's switchyard artifacts, enable the boot units, reload what
  changed and re-apply on drift: the same steps as examples/ansible.

  The minion first copies its part of the build (manifest.json and the host's
  directory) into state_dir, and `sha256sum --check` compares that copy with
  the manifest's hashes: every file is installed from the checked copy, and
  nothing is installed when one differs. (A `source_hash` would not do: Salt
  ignores it for salt:// sources.) `check_cmd: nft -c -f` refuses a script the
  kernel would not load. `switchyard verify` compares the live state with the
  copy; when it drifted (exit 1) the files are loaded again.
#}
{%- from 'switchyard/map.jinja' import switchyard as sy, places, unused, check_cmds, reloads with context %}
{%- set host = sy.host %}
{%- set copy = sy.state_dir ~ '/build' %}
{#- In test mode (the review) nothing is copied, so the diffs are against the
    file server's files; nothing is installed either. #}
{%- set install_from = sy.build if opts.test else copy %}
{%- set manifest = salt['cp.get_file_str'](sy.build ~ '/manifest.json') | load_json %}
{%- set files = manifest.files | selectattr('host', 'equalto', host) | list %}
{#- Each file the backend uses, with its place and its destination. #}
{%- set install = [] %}
{%- for file in files %}
{%-   set relative = file.path.split('/', 1) | last %}
{%-   set place = relative.split('/') | first %}
{%-   if place not in unused.get(sy.backend, []) and relative not in unused.get(sy.backend, []) %}
{%-     do install.append({'path': file.path, 'relative': relative, 'place': place,
                           'dest': places.get(place, '') ~ relative[place | length:]}) %}
{%-   endif %}
{%- endfor %}
{%- set misplaced = install | rejectattr('place', 'in', places) | map(attribute='path') | list %}
{#- A build made with --since has an update; the manifest names the build id of
    the table it applies over (applies_over_build). When the live table's set
    `build` holds that id, the nft reload loads the update, which changes only
    the elements that differ; otherwise (no update, no table, another build)
    the whole script. #}
{%- set listed = salt['cmd.run_all']('nft -j list set inet switchyard build',
                                     python_shell=False, ignore_retcode=True) %}
{%- set live_ids = [] %}
{%- if listed.retcode == 0 %}
{%-   for object in (listed.stdout | load_json).nftables if object.set is defined %}
{%-     do live_ids.extend(object.set.elem | default([])) %}
{%-   endfor %}
{%- endif %}
{%- set update = files | selectattr('path', 'equalto', host ~ '/switchyard.update.nft') | list %}
{%- set update_applies = update | map(attribute='applies_over_build', default='')
                                | select('in', live_ids) | list | length > 0 %}

{%- if sy.backend not in unused or not files or misplaced %}
switchyard-refused:
  test.fail_without_changes:
{%- if not files %}
    - name: "{{ sy.build }}/manifest.json has no files for host {{ host }}"
{%- elif misplaced %}
    - name: "this state does not know where {{ misplaced | join(', ') }} go (a newer switchyard?)"
{%- else %}
    - name: "pillar switchyard:backend must be ip or networkd, not {{ sy.backend }}"
{%- endif %}
{%- else %}

switchyard-copy-manifest:
  file.managed:
    - name: {{ copy }}/manifest.json
    - source: {{ sy.build }}/manifest.json
    - mode: '0644'
    - makedirs: True

switchyard-copy-host:
  file.recurse:
    - name: {{ copy }}/{{ host }}
    - source: {{ sy.build }}/{{ host }}
    - file_mode: '0644'
    - dir_mode: '0755'
    - clean: True
    - makedirs: True

# Exit 1, and no file installed, when any file of the copy differs from the
# manifest; otherwise it reports no change.
switchyard-integrity:
  cmd.run:
    - name: sha256sum --check --strict --quiet && echo changed=no
    - cwd: {{ copy }}
    - stdin: |
{%- for file in files %}
        {{ file.sha256 }}  {{ file.path }}
{%- endfor %}
    - stateful: True
    - require:
      - file: switchyard-copy-manifest
      - file: switchyard-copy-host

{%- if sy.manage_sysctl %}

switchyard-sysctl:
  file.managed:
    - name: {{ sy.sysctl_dest }}/60-switchyard.conf
    - mode: '0644'
    - makedirs: True
    - backup: minion
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
    - require:
      - cmd: switchyard-integrity

switchyard-sysctl-apply:
  cmd.run:
    - name: sysctl -p {{ sy.sysctl_dest }}/60-switchyard.conf
    - onchanges:
      - file: switchyard-sysctl
{%- endif %}

{#- One state per file, from the checked copy to its place: a new kind of file
    needs only its place (and reload) in map.jinja. #}
{%- for file in install %}

switchyard-install-{{ file.relative }}:
  file.managed:
    - name: {{ file.dest }}
    - source: {{ install_from }}/{{ file.path }}
    - mode: '0644'
    - makedirs: True
    - backup: minion
{%- if file.place in check_cmds %}
    - check_cmd: {{ check_cmds[file.place] }}
{%- endif %}
    - require:
      - cmd: switchyard-integrity
{%- set reload = reloads.get(file.relative, reloads.get(file.place)) %}
{%- if reload %}
    - onchanges_in:
      - cmd: {{ reload }}
{%- endif %}
{%- if file.place == 'systemd' and sy.enable_units %}

switchyard-enable-{{ file.relative }}:
  service.enabled:
    - name: {{ file.dest.split('/') | last }}
    - require:
      - file: switchyard-install-{{ file.relative }}
{%- endif %}
{%- endfor %}

# verify exits 0 in sync (the unless: nothing to do), 1 on drift (this state
# then succeeds with the differences as its change, and the reloads run), 2 on
# an error (it fails). Not success_retcodes: Salt applies them to `unless` too.
switchyard-drift:
  cmd.run:
    - name: {{ sy.bin }} verify {{ copy }} --host {{ host }}; test $? -eq 1
    - unless: {{ sy.bin }} verify {{ copy }} --host {{ host }}
    - require:
      - cmd: switchyard-integrity

{%- if not update %}

# An update of an earlier build would not fit the table this build loads.
switchyard-no-update:
  file.absent:
    - name: {{ places['switchyard.update.nft'] }}
    - require:
      - cmd: switchyard-integrity
{%- endif %}

# Loading the script replaces table `inet switchyard` atomically. The update is
# one transaction too, which nft refuses as a whole over any other table than
# the one it was made for: should the table have changed since this state was
# rendered, or an element the update deletes be gone, the script repairs it.
switchyard-nft-reload:
  cmd.run:
{%- if update_applies %}
    - name: nft -f {{ places['switchyard.update.nft'] }} || nft -f {{ places['switchyard.nft'] }}
{%- else %}
    - name: nft -f {{ places['switchyard.nft'] }}
{%- endif %}
    - onchanges:
      - cmd: switchyard-drift
{%- if sy.manage_sysctl %}
    - require:
      - cmd: switchyard-sysctl-apply
{%- endif %}

{%- if sy.backend == 'ip' %}

# Flushes every rule and route tagged with switchyard's protocol number, then
# adds the new ones: loading it again leaves exactly its state.
switchyard-ip-reload:
  cmd.run:
    - name: ip -batch {{ sy.dest }}/switchyard.ip
    - onchanges:
      - cmd: switchyard-drift
    - require:
      - cmd: switchyard-nft-reload
{%- else %}
{%- set wanted = install | selectattr('place', 'equalto', 'networkd') | map(attribute='dest') | list %}
{#- Units of uplinks no longer in the topology would otherwise stay configured. #}
{%- for stale in salt['file.find'](sy.networkd_dest, name='10-switchyard-*', type='f', maxdepth=2) %}
{%- if stale not in wanted %}

switchyard-stale-{{ stale[sy.networkd_dest | length + 1:] }}:
  file.absent:
    - name: {{ stale }}
    - require:
      - cmd: switchyard-integrity
    - onchanges_in:
      - cmd: switchyard-networkd-reload
{%- endif %}
{%- endfor %}

switchyard-networkd-reload:
  cmd.run:
    - name: networkctl reload
    - onchanges:
      - cmd: switchyard-drift
    - require:
      - cmd: switchyard-nft-reload

{%- set links = [] %}
{%- for dest in wanted %}
{%-   set name = dest.split('/') | last %}
{%-   if name.startswith('10-switchyard-') and name.endswith('.network') %}
{%-     do links.append(name[14:-8]) %}
{%-   endif %}
{%- endfor %}
{%- if links %}

# A reload applies only new or changed units: on drift with unchanged units,
# networkd must configure switchyard's links again.
switchyard-networkd-reconfigure:
  cmd.run:
    - name: networkctl reconfigure {{ links | join(' ') }}
    - onchanges:
      - cmd: switchyard-drift
    - require:
      - cmd: switchyard-networkd-reload
{%- endif %}
{%- endif %}

{#- With [failover] the build has the host's uplink monitor, monitor.json and
    systemd/switchyard-monitor.service, installed by the loop above. When either
    changed, systemd is reloaded, the unit enabled (so the monitor starts at
    boot) and the monitor restarted (so it reads the new configuration); after
    the nft reload: it keeps a set in that table (and fills it again itself
    after a reload, so drift needs no restart). #}
{%- if install | selectattr('relative', 'in', ['monitor.json', 'systemd/switchyard-monitor.service']) | list %}

switchyard-monitor-restart:
  cmd.run:
    - name: >-
        {{ sy.systemctl }} daemon-reload &&
        {{ sy.systemctl }} enable switchyard-monitor.service &&
        {{ sy.systemctl }} restart switchyard-monitor.service
    - require:
      - cmd: switchyard-nft-reload
{%- endif %}
{%- endif %}
