//! The fault switches tests flip on a running emulator: connections refused, dropped after
//! a number of sentences, or all closed at once; replies held back; commands trapped.

use std::sync::atomic::Ordering;
use std::time::Duration;

use super::RouterOsEmulator;

impl RouterOsEmulator {
    /// While on, new connections are accepted and closed at once, before any byte.
    pub fn set_refuse_connections(&self, refuse: bool) {
        self.shared.refuse.store(refuse, Ordering::SeqCst);
    }

    /// Connections the refuse switch has closed so far.
    pub fn refused_connections(&self) -> usize {
        self.shared.refused.load(Ordering::SeqCst)
    }

    /// `Some(n)`: from now on every connection, open or new, runs at most `n` more
    /// sentences (counted per connection, `/login` and empty sentences included); the
    /// sentence after those closes the connection without running or answering it.
    /// Replies still delayed at that moment are lost. `None` turns the switch off.
    pub fn drop_after_sentences(&self, n: Option<usize>) {
        self.shared.drop_after.send_replace(n);
    }

    /// Holds every reply to a command (`/login` included) for `delay` after the command
    /// arrived; the command itself takes effect at once, so a connection killed meanwhile
    /// loses a reply to a change that happened. `/cancel`, `/quit` and `!fatal` are not
    /// delayed. Replies keep their order.
    pub fn set_reply_delay(&self, delay: Duration) {
        *self.shared.delay.lock().expect("delay lock") = delay;
    }

    /// The next command on any connection (not `/login`, `/cancel` or `/quit`) gets
    /// `!trap =message=<message>` then `!done`, and has no effect.
    /// Note that a client's background traffic (keep-alive prints) can take this trap; use
    /// [`trap_next_command`](Self::trap_next_command) to aim it.
    pub fn trap_next(&self, message: &str) {
        *self.shared.trap_next.lock().expect("trap lock") = Some((None, message.to_string()));
    }

    /// Like [`trap_next`](Self::trap_next), for the next command whose command word is
    /// exactly `command` (e.g. `/ip/hotspot/user/add`); other commands run as usual.
    pub fn trap_next_command(&self, command: &str, message: &str) {
        *self.shared.trap_next.lock().expect("trap lock") = Some((Some(command.to_string()), message.to_string()));
    }

    /// From now on every command whose command word is exactly `command` gets
    /// `!trap =message=<message>` then `!done` and has no effect, until
    /// [`stop_trapping`](Self::stop_trapping): a router whose API user lacks a policy
    /// ([`NOT_ENOUGH_PERMISSIONS`](super::NOT_ENOUGH_PERMISSIONS)) or a menu. Other commands run as usual.
    pub fn trap_every(&self, command: &str, message: &str) {
        self.shared.trap_always.lock().expect("trap lock").insert(command.to_string(), message.to_string());
    }

    /// Ends [`trap_every`](Self::trap_every) for `command`.
    pub fn stop_trapping(&self, command: &str) {
        self.shared.trap_always.lock().expect("trap lock").remove(command);
    }

    /// Closes every open connection now; later ones are served as usual.
    pub fn kill_connections(&self) {
        let mut generation = self.shared.generation.lock().expect("generation lock");
        generation.cancel();
        *generation = self.shared.stop.child_token();
    }
}
