{#-
  `switchyard apply` makes the kernel state the checked copy's: the table (by
  the build's update where the live table is its base, else the whole
  script), the rules, routes and uplink addresses that differ, the sysctls,
  then verify. Nothing to change: it prints `HOST: unchanged (DIR)`, and the
  state reports no change. When a step fails it puts everything back as it
  was and exits non-zero naming the step: the state fails with that message,
  and install.sls installs nothing.
#}
{%- from 'switchyard/map.jinja' import switchyard as sy, stage, packages with context %}
{%- if packages %}

{#- keepalived and conntrackd run a member of a pair; switchyard's package
    only recommends them. Installed before anything changes, so a minion that
    cannot get them keeps the state it runs. #}
switchyard-packages:
  pkg.installed:
    - pkgs:
{%- for package in packages %}
      - {{ package }}
{%- endfor %}
    - require:
      - cmd: switchyard-integrity
{%- endif %}

switchyard-apply:
  cmd.run:
    - name: >-
        applied=$({{ sy.bin }} apply {{ stage }} --host {{ sy.host }}) || exit;
        printf '%s\n' "$applied";
        case "$applied" in *': unchanged ('*) echo changed=no ;; *) echo changed=yes ;; esac
    - stateful: True
    - require:
      - cmd: switchyard-integrity
{%- if packages %}
      - pkg: switchyard-packages
{%- endif %}
