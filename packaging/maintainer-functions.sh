# Shell functions of the package's maintainer scripts, shared by the .deb (deb/postinst, deb/prerm, deb/postrm)
# and the .rpm (rpm/tc-calendar.spec.in): the build scripts paste this file where a script says
# "#MAINTAINER_FUNCTIONS#". POSIX sh, so that dash (Debian) and bash (RPM) run it alike.
#
# Every path is prefixed with $DPKG_ROOT. It is empty on a normal installation; it names a directory when dpkg
# installs into another root without chroot (dpkg --root=DIR --force-script-chrootless), which is how the
# package is tested. Such an installation never touches the running system's services.

TC_ROOT="${DPKG_ROOT:-}"
TC_PREFIX=/opt/trueconf/calendar
TC_ETC="$TC_PREFIX/etc/calendar"
TC_USER=tc-calendar
TC_UNIT=trueconf-calendar.service
# Left by the old version's scripts when they stop a running service for an upgrade: the new one starts it again.
TC_RESTART_MARK=/run/tc-calendar.restart-after-upgrade
# The files in the configuration directory that hold secrets or state (the connector creates them 0600 itself;
# this covers files copied in by hand or made by root, such as a key file from `sudo tc_calendar --hash_pass`).
TC_SECRET_FILES="config.json calendar.key calendar.db calendar.db-wal calendar.db-shm license.json"

# systemd manages services here: not in a container or chroot without it, never for another root.
tc_systemd_running() {
  [ -z "$TC_ROOT" ] && [ -d /run/systemd/system ]
}

# The service user's passwd line in the system being installed (empty when there is none).
tc_passwd_entry() {
  if [ -z "$TC_ROOT" ]; then
    getent passwd "$TC_USER" || true
  else
    awk -F: -v user="$TC_USER" '$1 == user' "$TC_ROOT/etc/passwd"
  fi
}

tc_ensure_user() {
  [ -n "$(tc_passwd_entry)" ] && return 0
  useradd ${TC_ROOT:+--prefix "$TC_ROOT"} --system --user-group --no-create-home --home-dir "$TC_PREFIX" \
    --shell /usr/sbin/nologin --comment "TrueConf Calendar Connector" "$TC_USER"
}

# uid:gid of the service user (numeric, so that it also holds for another root).
tc_user_ids() {
  tc_passwd_entry | cut -d: -f3,4
}

# The configuration directory 0700 and its secrets 0600, all the service user's. Symbolic links are left alone:
# the service user could point one anywhere.
tc_secure_files() {
  ids="$(tc_user_ids)"
  dir="$TC_ROOT$TC_ETC"
  chown -h "$ids" "$dir"
  chmod 0700 "$dir"
  for name in $TC_SECRET_FILES; do
    file="$dir/$name"
    if [ -f "$file" ] && [ ! -L "$file" ]; then
      chown -h "$ids" "$file"
      chmod 0600 "$file"
    fi
  done
}

# Runs the packaged tc_calendar as the service user, with the packaged configuration and a clean environment.
tc_calendar_as_service_user() {
  ids="$(tc_user_ids)"
  setpriv --reuid="${ids%%:*}" --regid="${ids##*:}" --clear-groups -- \
    env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME="$TC_ROOT$TC_PREFIX" LANG=C.UTF-8 \
    TC_CALENDAR_CONFIG="$TC_ROOT$TC_ETC/config.json" "$TC_ROOT$TC_PREFIX/bin/calendar/tc_calendar" "$@"
}

# Brings the database schema to this version's revision. A failure (the database is down, config.json is not
# filled in yet) does not fail the upgrade: the service migrates the database when it starts, too.
tc_migrate_database() {
  echo "tc-calendar: migrating the database (tc_calendar db upgrade)"
  if tc_calendar_as_service_user db upgrade; then
    return 0
  fi
  echo "tc-calendar: the database was not migrated (see the message above); the service migrates it when it" \
       "starts, or run: sudo -u $TC_USER $TC_PREFIX/bin/calendar/tc_calendar db upgrade" >&2
}

# Stops the service (SIGTERM: running transactions finish). $1 = upgrade: remember to start it again afterwards.
tc_stop_service() {
  tc_systemd_running || return 0
  if systemctl is-active --quiet "$TC_UNIT"; then
    if [ "${1:-}" = upgrade ]; then
      touch "$TC_RESTART_MARK"
    fi
    echo "tc-calendar: stopping $TC_UNIT"
    systemctl stop "$TC_UNIT" || echo "tc-calendar: $TC_UNIT did not stop cleanly" >&2
  fi
}

# After the files are in place: systemd reads the unit again, and a service stopped for the upgrade starts.
tc_reload_and_restart() {
  tc_systemd_running || return 0
  systemctl daemon-reload || true
  if [ -e "$TC_RESTART_MARK" ]; then
    rm -f "$TC_RESTART_MARK"
    echo "tc-calendar: starting $TC_UNIT again"
    systemctl start "$TC_UNIT" || echo "tc-calendar: $TC_UNIT did not start; see: journalctl -u $TC_UNIT" >&2
  fi
}

# Files the running connector made beside the packaged ones (Python byte code of a changed interpreter):
# nothing of the package is left once it is removed.
tc_remove_leftovers() {
  rm -rf "$TC_ROOT$TC_PREFIX/venv"
}

# Purge: the configuration, the key file, the database and licence beside it, systemd's state and log
# directories, and the service's enablement. The tc-calendar user stays (files elsewhere may belong to it).
tc_purge_state() {
  rm -rf "$TC_ROOT$TC_ETC" "$TC_ROOT/var/lib/tc-calendar" "$TC_ROOT/var/log/tc-calendar"
  rm -f "$TC_ROOT"/etc/systemd/system/*.wants/"$TC_UNIT"
  for dir in "$TC_PREFIX/etc" "$TC_PREFIX/bin/calendar" "$TC_PREFIX/bin" "$TC_PREFIX/share/doc" \
             "$TC_PREFIX/share" "$TC_PREFIX" /opt/trueconf; do
    rmdir "$TC_ROOT$dir" 2>/dev/null || true
  done
}
