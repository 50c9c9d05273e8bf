{#-
  The minion copies its part of the build (manifest.json and the host's
  directory) into state_dir, and `sha256sum --check` compares that copy with
  the manifest's hashes: `switchyard apply` loads the checked copy and every
  file is installed from it, and nothing happens when one differs. (A
  `source_hash` would not do: Salt ignores it for salt:// sources.)
#}
{%- from 'switchyard/map.jinja' import switchyard as sy, stage, files with context %}

switchyard-copy-manifest:
  file.managed:
    - name: {{ stage }}/manifest.json
    - source: {{ sy.build }}/manifest.json
    - mode: '0644'
    - makedirs: True

switchyard-copy-host:
  file.recurse:
    - name: {{ stage }}/{{ sy.host }}
    - source: {{ sy.build }}/{{ sy.host }}
    - file_mode: '0644'
    - dir_mode: '0755'
    - clean: True
    - makedirs: True

# Exit 1, and nothing applied or installed, when any file of the copy differs
# from the manifest; otherwise it reports no change.
switchyard-integrity:
  cmd.run:
    - name: sha256sum --check --strict --quiet && echo changed=no
    - cwd: {{ stage }}
    - stdin: |
{%- for file in files %}
        {{ file.sha256 }}  {{ file.path }}
{%- endfor %}
    - stateful: True
    - require:
      - file: switchyard-copy-manifest
      - file: switchyard-copy-host
