# password.sh -- sourced by pg.sh and redis.sh: a local server's password, generated once.
#
# ensure_password FILE [OWNER]: unless FILE already holds one, writes 24 random characters
# (base64 letters and digits) into it, readable by its owner only (OWNER: chown it to them).
# The umask stays 077 for what the calling script writes next, as those files hold the
# password too.
ensure_password() {
  if [ ! -s "$1" ]; then
    umask 077
    head -c 18 /dev/urandom | base64 | tr -d '/+=\n' > "$1"
    if [ -n "${2:-}" ]; then
      chown "$2" "$1"
    fi
  fi
}
