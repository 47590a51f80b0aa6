package store

import "syscall"

// sysFstatat is fstatat(2) on this architecture.
const sysFstatat = syscall.SYS_FSTATAT
