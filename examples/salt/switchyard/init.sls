{#-
  Install one host's switchyard artifacts: the same steps as examples/ansible.

  artifacts.sls copies the minion's part of the build (manifest.json and the
  host's directory) into state_dir and checks the copy against the manifest's
  hashes; apply.sls makes the kernel state the build's with `switchyard
  apply`, which restores everything when a step fails; install.sls then, and
  only then, installs the build where the boot units apply it, the units and
  the sysctl file, enables the units and restarts the uplink monitor when it
  does not run the build's configuration.
#}
{%- from 'switchyard/map.jinja' import switchyard as sy, files, misplaced with context %}

{%- if sy.backend not in ['ip', 'networkd'] or not files or misplaced %}
switchyard-refused:
  test.fail_without_changes:
{%- if not files %}
    - name: "{{ sy.build }}/manifest.json has no files for host {{ sy.host }}"
{%- elif misplaced %}
    - name: "this state does not know where {{ misplaced | join(', ') }} go (a newer switchyard?)"
{%- else %}
    - name: "pillar switchyard:backend must be ip or networkd, not {{ sy.backend }}"
{%- endif %}
{%- else %}

include:
  - switchyard.artifacts
  - switchyard.apply
  - switchyard.install
{%- endif %}
