"""``git ckpt completion SHELL``: completion scripts that work for ``git-ckpt`` and through
``git ckpt`` (git's own completion calls ``_git_ckpt`` in bash and ``_git-ckpt`` in zsh).

Candidates come from click's completion protocol (``_GIT_CKPT_COMPLETE``), so commands,
options and their choices stay in step with the code.
"""

from __future__ import annotations

import click

from ckptgit.commands._common import emit_json, json_option

BASH = r"""# git ckpt completion for bash: source it, e.g. from ~/.bashrc:
#   source <(git ckpt completion bash)
_git_ckpt_words() {
    # $1: the words from "git-ckpt" on, $2: the index of the word being completed
    local IFS=$'\n' line kind value
    COMPREPLY=()
    for line in $(COMP_WORDS="$1" COMP_CWORD="$2" _GIT_CKPT_COMPLETE=bash_complete \
                  git-ckpt 2>/dev/null); do
        kind=${line%%,*}
        value=${line#*,}
        case $kind in
            plain) COMPREPLY+=("$value") ;;
            dir) compopt -o dirnames 2>/dev/null ;;
            file) compopt -o default 2>/dev/null ;;
        esac
    done
}
_git_ckpt_complete() {
    _git_ckpt_words "${COMP_WORDS[*]}" "$COMP_CWORD"
}
# git's completion (git-completion.bash) calls _git_<subcommand> with words and cword set
_git_ckpt() {
    local i=1
    while [[ $i -lt $cword && ${words[i]} != ckpt ]]; do i=$((i + 1)); done
    local rest=("git-ckpt" "${words[@]:i+1}")
    _git_ckpt_words "${rest[*]}" "$((cword - i))"
}
complete -o nosort -F _git_ckpt_complete git-ckpt
"""

ZSH = r"""#compdef git-ckpt
# git ckpt completion for zsh: source it, e.g. from ~/.zshrc (after compinit):
#   source <(git ckpt completion zsh)
_git_ckpt_zsh() {
    local -a plain
    local kind value
    local IFS=$'\n'
    local -a response
    response=("${(@f)$(COMP_WORDS="$1" COMP_CWORD="$2" _GIT_CKPT_COMPLETE=zsh_complete \
                      git-ckpt 2>/dev/null)}")
    for kind value _ in "${response[@]}"; do
        case $kind in
            plain) plain+=("$value") ;;
            dir) _path_files -/ ;;
            file) _path_files -f ;;
        esac
    done
    (( ${#plain} )) && compadd -U -V unsorted -a plain
}
_git_ckpt_direct() {
    _git_ckpt_zsh "${words[*]}" "$((CURRENT - 1))"
}
# zsh's git completion calls _git-<subcommand> for commands it does not know
_git-ckpt() {
    _git_ckpt_zsh "git-ckpt ${words[*]:1}" "$((CURRENT - 1))"
}
compdef _git_ckpt_direct git-ckpt
"""

FISH = r"""# git ckpt completion for fish: save it as ~/.config/fish/completions/git-ckpt.fish
# (and source it from config.fish for 'git ckpt').
function __git_ckpt_complete
    set -l words (commandline -opc)
    set -l current (commandline -ct)
    # 'git ckpt ...' becomes 'git-ckpt ...'
    if test "$words[1]" = git
        set words git-ckpt $words[3..-1]
    end
    __git_ckpt_candidates "$words $current" "$current"
end
function __git_ckpt_candidates
    # $argv[1]: the words from git-ckpt on, $argv[2]: the word being completed
    set -lx COMP_WORDS $argv[1]
    set -lx COMP_CWORD $argv[2]
    for item in (env _GIT_CKPT_COMPLETE=fish_complete git-ckpt 2>/dev/null)
        set -l parts (string split -m 1 , -- $item)
        switch $parts[1]
            case plain
                echo $parts[2]
            case dir
                __fish_complete_directories $argv[2]
            case file
                __fish_complete_path $argv[2]
        end
    end
end
complete -c git-ckpt -f -a '(__git_ckpt_complete)'
complete -c git -n '__fish_seen_subcommand_from ckpt' -f -a '(__git_ckpt_complete)'
"""

SCRIPTS = {"bash": BASH, "zsh": ZSH, "fish": FISH}


@click.command("completion")
@click.argument("shell", type=click.Choice(sorted(SCRIPTS)))
@json_option
def command(shell: str, as_json: bool) -> None:
    """Print the completion script for SHELL (bash, zsh or fish).

    It completes both 'git-ckpt' and 'git ckpt' (through git's own completion).

    \b
    Examples:
      source <(git ckpt completion bash)          # in ~/.bashrc
      source <(git ckpt completion zsh)           # in ~/.zshrc, after compinit
      git ckpt completion fish > ~/.config/fish/completions/git-ckpt.fish
    """
    if as_json:
        emit_json({"shell": shell, "script": SCRIPTS[shell]})
        return
    click.echo(SCRIPTS[shell], nl=False)
