#!/usr/bin/perl
# SPDX-License-Identifier: LGPL-2.1-or-later
# Probes for tests/e2e/host-limits.sh, copied into the sandbox image as /usr/local/bin/sandy-limit-probe
# (the fixture image has perl, not python). Only builtins: the image's perl-base has few modules.
#   alloc MIB            touch MIB MiB of anonymous memory, print "allocated MIB"
#   cpu SECONDS          burn CPU for SECONDS of wall time, print "cpu CPU-SECONDS wall WALL-SECONDS"
#   forkbomb DEPTH SECS  every process forks DEPTH times (2^DEPTH processes at most: bounded even where
#                        TasksMax= is not enforced), all sleep SECS and exit; prints "forks OK FAILED"
#                        for the first process
#   fill FILE MIB        write MIB MiB to FILE 1 MiB at a time, print "wrote N" and the error, if any
use strict;
use warnings;

my $what = shift // '';
$| = 1;
if ($what eq 'alloc') {
        my $mib = shift or die "alloc MIB\n";
        my $s = "\x01" x ($mib * 1048576);    # written, so every page is really there
        print "allocated $mib\n";
} elsif ($what eq 'cpu') {
        my $secs = shift or die "cpu SECONDS\n";
        my $t0 = time;
        1 while time == $t0;    # start on a second boundary: time() has whole seconds
        my ($u0, $s0) = times;
        my $start = time;
        my $n = 0;
        $n++ while time < $start + $secs;
        my ($u, $s) = times;
        printf "cpu %.2f wall %d\n", $u + $s - $u0 - $s0, time - $start;
} elsif ($what eq 'forkbomb') {
        my $depth = shift // 10;
        my $secs = shift // 10;
        my ($ok, $failed, $first) = (0, 0, $$);
        for (1 .. $depth) {
                my $pid = fork;
                if (!defined $pid) { $failed++; next; }
                if ($pid == 0) { ($ok, $failed) = (0, 0); next; }    # the child goes on forking too
                $ok++;
        }
        print "forks $ok $failed\n" if $$ == $first;
        sleep $secs;
        exit 0;
} elsif ($what eq 'fill') {
        my ($file, $mib) = (shift, shift) or die "fill FILE MIB\n";
        open(my $fh, '>', $file) or die "open $file: $!\n";
        my $block = "\x01" x 1048576;
        my ($n, $err) = (0, '');
        BLOCK: for (1 .. $mib) {
                my $off = 0;
                while ($off < 1048576) {    # a short write when the space runs out; the next one fails
                        my $w = syswrite($fh, $block, 1048576 - $off, $off);
                        if (!defined $w) { $err = " error: $!"; last BLOCK; }
                        $off += $w;
                }
                $n++;
        }
        print "wrote $n$err\n";
        exit($err ? 1 : 0);
} else {
        die "usage: sandy-limit-probe alloc MIB | cpu SECONDS | forkbomb DEPTH SECS | fill FILE MIB\n";
}
