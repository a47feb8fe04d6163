//go:build !linux

package sockio

import "syscall"

// Elsewhere Wrap leaves connections to package net.
const supported = false

const raw = false

func read(uintptr, []byte) (int, syscall.Errno)            { panic("sockio: unsupported") }
func write(uintptr, []byte) (int, syscall.Errno)           { panic("sockio: unsupported") }
func writev(uintptr, []syscall.Iovec) (int, syscall.Errno) { panic("sockio: unsupported") }
func addPtr(p *byte, n int) *byte                          { panic("sockio: unsupported") }
func peek(uintptr) syscall.Errno                           { panic("sockio: unsupported") }
