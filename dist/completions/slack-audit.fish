# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_slack_audit_global_optspecs
    string join \n log-format= h/help V/version
end

function __fish_slack_audit_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_slack_audit_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_slack_audit_using_subcommand
    set -l cmd (__fish_slack_audit_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c slack-audit -n "__fish_slack_audit_needs_command" -l log-format -d 'Log format on stderr (filter with RUST_LOG, default `info`)' -r -f -a "human\t'One readable line per event'
json\t'One JSON object per event, for log pipelines'"
complete -c slack-audit -n "__fish_slack_audit_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c slack-audit -n "__fish_slack_audit_needs_command" -s V -l version -d 'Print version'
complete -c slack-audit -n "__fish_slack_audit_needs_command" -f -a "spec" -d 'Print the JSON Schema of the config document'
complete -c slack-audit -n "__fish_slack_audit_needs_command" -f -a "check" -d 'Validate the config, then prove it works against the source'
complete -c slack-audit -n "__fish_slack_audit_needs_command" -f -a "read" -d 'Read records as NDJSON on stdout, resuming from (and checkpointing to) the state file'
complete -c slack-audit -n "__fish_slack_audit_needs_command" -f -a "status" -d 'Say where a state file would resume and whether a reader is running on it, without locking or changing it'
complete -c slack-audit -n "__fish_slack_audit_needs_command" -f -a "lake-setup" -d 'Print the Amazon Security Lake custom sources to create for the lake LAKE describes (one per table), the commands that create them, and the locations to paste'
complete -c slack-audit -n "__fish_slack_audit_needs_command" -f -a "actions" -d 'Compare Slack\'s live action catalogue and entity schemas with the bundled ones'
complete -c slack-audit -n "__fish_slack_audit_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c slack-audit -n "__fish_slack_audit_using_subcommand spec" -l log-format -d 'Log format on stderr (filter with RUST_LOG, default `info`)' -r -f -a "human\t'One readable line per event'
json\t'One JSON object per event, for log pipelines'"
complete -c slack-audit -n "__fish_slack_audit_using_subcommand spec" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c slack-audit -n "__fish_slack_audit_using_subcommand check" -l config -d 'The config document: {"settings": {…}, "secrets": {…}}' -r -F
complete -c slack-audit -n "__fish_slack_audit_using_subcommand check" -l lake -d 'Also prove that the lake LAKE describes takes objects (a probe at every location)' -r -F
complete -c slack-audit -n "__fish_slack_audit_using_subcommand check" -l log-format -d 'Log format on stderr (filter with RUST_LOG, default `info`)' -r -f -a "human\t'One readable line per event'
json\t'One JSON object per event, for log pipelines'"
complete -c slack-audit -n "__fish_slack_audit_using_subcommand check" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c slack-audit -n "__fish_slack_audit_using_subcommand read" -l config -d 'The config document: {"settings": {…}, "secrets": {…}}' -r -F
complete -c slack-audit -n "__fish_slack_audit_using_subcommand read" -l state -d 'The state file; created when absent, replaced atomically after each delivered batch' -r -F
complete -c slack-audit -n "__fish_slack_audit_using_subcommand read" -l poll-interval -d 'Seconds between polls in follow mode' -r
complete -c slack-audit -n "__fish_slack_audit_using_subcommand read" -l output -d 'Append records to FILE instead of stdout, made durable (fsync) before each checkpoint; reopened on SIGHUP (rotate by renaming the file, then send SIGHUP). One collector per output: a second reader is refused before the file is touched. Created 0600; never written through a symlink' -r -F
complete -c slack-audit -n "__fish_slack_audit_using_subcommand read" -l metrics-addr -d 'Serve Prometheus metrics on http://HOST:PORT/metrics and health on /healthz while reading (port 0: any free port, logged). Off unless given' -r
complete -c slack-audit -n "__fish_slack_audit_using_subcommand read" -l lake -d 'Deliver into the lake LAKE describes (Amazon Security Lake or S3) instead of stdout, exactly once, through its local spool. Without --follow, returns once everything read is in the lake' -r -F
complete -c slack-audit -n "__fish_slack_audit_using_subcommand read" -l log-format -d 'Log format on stderr (filter with RUST_LOG, default `info`)' -r -f -a "human\t'One readable line per event'
json\t'One JSON object per event, for log pipelines'"
complete -c slack-audit -n "__fish_slack_audit_using_subcommand read" -l follow -d 'Keep polling for new records until SIGINT/SIGTERM'
complete -c slack-audit -n "__fish_slack_audit_using_subcommand read" -l output-group-readable -d 'Create the output file 0640 instead of 0600, for a shipper in the file\'s group'
complete -c slack-audit -n "__fish_slack_audit_using_subcommand read" -l accept-settings-change -d 'Continue although the settings differ from those the state was collected with in a way that skips or mixes records (a filter widened, another record format). What is skipped is logged'
complete -c slack-audit -n "__fish_slack_audit_using_subcommand read" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c slack-audit -n "__fish_slack_audit_using_subcommand status" -l state -d 'The state file' -r -F
complete -c slack-audit -n "__fish_slack_audit_using_subcommand status" -l lake -d 'Also show the spool of the lake LAKE describes' -r -F
complete -c slack-audit -n "__fish_slack_audit_using_subcommand status" -l log-format -d 'Log format on stderr (filter with RUST_LOG, default `info`)' -r -f -a "human\t'One readable line per event'
json\t'One JSON object per event, for log pipelines'"
complete -c slack-audit -n "__fish_slack_audit_using_subcommand status" -l json -d 'Print JSON instead of text'
complete -c slack-audit -n "__fish_slack_audit_using_subcommand status" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c slack-audit -n "__fish_slack_audit_using_subcommand lake-setup" -l config -d 'The config document: {"settings": {…}, "secrets": {…}}' -r -F
complete -c slack-audit -n "__fish_slack_audit_using_subcommand lake-setup" -l lake -d 'The lake file' -r -F
complete -c slack-audit -n "__fish_slack_audit_using_subcommand lake-setup" -l log-format -d 'Log format on stderr (filter with RUST_LOG, default `info`)' -r -f -a "human\t'One readable line per event'
json\t'One JSON object per event, for log pipelines'"
complete -c slack-audit -n "__fish_slack_audit_using_subcommand lake-setup" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c slack-audit -n "__fish_slack_audit_using_subcommand actions" -l config -d 'The config document: its api_base_url, CA and proxy settings are used; no secret is read or sent' -r -F
complete -c slack-audit -n "__fish_slack_audit_using_subcommand actions" -l api-base-url -d 'Slack\'s API instead of a config (default https://api.slack.com)' -r
complete -c slack-audit -n "__fish_slack_audit_using_subcommand actions" -l log-format -d 'Log format on stderr (filter with RUST_LOG, default `info`)' -r -f -a "human\t'One readable line per event'
json\t'One JSON object per event, for log pipelines'"
complete -c slack-audit -n "__fish_slack_audit_using_subcommand actions" -l json -d 'Print JSON instead of text'
complete -c slack-audit -n "__fish_slack_audit_using_subcommand actions" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c slack-audit -n "__fish_slack_audit_using_subcommand help; and not __fish_seen_subcommand_from spec check read status lake-setup actions help" -f -a "spec" -d 'Print the JSON Schema of the config document'
complete -c slack-audit -n "__fish_slack_audit_using_subcommand help; and not __fish_seen_subcommand_from spec check read status lake-setup actions help" -f -a "check" -d 'Validate the config, then prove it works against the source'
complete -c slack-audit -n "__fish_slack_audit_using_subcommand help; and not __fish_seen_subcommand_from spec check read status lake-setup actions help" -f -a "read" -d 'Read records as NDJSON on stdout, resuming from (and checkpointing to) the state file'
complete -c slack-audit -n "__fish_slack_audit_using_subcommand help; and not __fish_seen_subcommand_from spec check read status lake-setup actions help" -f -a "status" -d 'Say where a state file would resume and whether a reader is running on it, without locking or changing it'
complete -c slack-audit -n "__fish_slack_audit_using_subcommand help; and not __fish_seen_subcommand_from spec check read status lake-setup actions help" -f -a "lake-setup" -d 'Print the Amazon Security Lake custom sources to create for the lake LAKE describes (one per table), the commands that create them, and the locations to paste'
complete -c slack-audit -n "__fish_slack_audit_using_subcommand help; and not __fish_seen_subcommand_from spec check read status lake-setup actions help" -f -a "actions" -d 'Compare Slack\'s live action catalogue and entity schemas with the bundled ones'
complete -c slack-audit -n "__fish_slack_audit_using_subcommand help; and not __fish_seen_subcommand_from spec check read status lake-setup actions help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
