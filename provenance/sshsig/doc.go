// Package sshsig signs and verifies ctxguard knowledge-base manifests with
// SSH signatures (the "SSHSIG" format of OpenSSH's PROTOCOL.sshsig).
//
// SSH signatures are used, rather than a signature format of our own, so that
// knowledge-base owners can sign with the keys they already have and already
// protect: an ed25519 or RSA key on disk, a key held by ssh-agent, or a
// hardware-backed (FIDO or smartcard) key. `ssh-keygen -Y sign -n ctxguard-kb`
// produces a signature this package verifies, and a signature from Sign
// verifies with `ssh-keygen -Y verify`, so neither side needs ctxguard's own
// tooling. Who may sign is written in OpenSSH's allowed_signers format for the
// same reason: owners can check a signature by hand with the file ctxguard
// uses, and certificate authorities work as they do for ssh-keygen.
//
// Every signature is bound to the namespace "ctxguard-kb", and verification
// insists on it. An SSH key is often used for several things (git commits,
// file signing, logins); without the namespace a signature the owner made
// for another application over attacker-chosen bytes could be replayed as a
// manifest signature. The namespace is part of the signed data, so it cannot
// be changed without breaking the signature.
//
// Verifying a signature (Signature.Verify) and deciding whether its key is
// trusted (Authorize) are separate steps on purpose: the first is pure
// cryptography, the second is policy that depends on the allowed signers file
// and the time of the check, and mixing them makes it easy to accept a valid
// signature from an untrusted key.
package sshsig
