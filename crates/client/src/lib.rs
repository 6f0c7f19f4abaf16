//! AeThex Live client side: the HTTP API client, the chat client, the OS-keyring
//! key vault and the headless `aethex` CLI built on them.
