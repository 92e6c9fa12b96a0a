#!/usr/bin/perl
# SCTP listener/connect round trip over loopback (tests/boot.rs probe). Only perl-base's Socket.
# A one-to-one (SOCK_STREAM) SCTP listener on 127.0.0.1:PORT; a client connects, sends PAYLOAD and
# closes; the listener reads to end of stream. Prints "ok" when exactly PAYLOAD arrived, else
# "fail: <why>" (for example "socket: Protocol not supported" when the kernel has no sctp).
use strict;
use warnings;
use Socket qw(PF_INET SOCK_STREAM SOL_SOCKET SO_REUSEADDR pack_sockaddr_in inet_aton);

my ($port, $payload) = @ARGV;
my $IPPROTO_SCTP = 132;
my $addr = pack_sockaddr_in($port, inet_aton('127.0.0.1'));
$SIG{ALRM} = sub { print "fail: timed out\n"; exit 1 };
alarm 20;

socket(my $srv, PF_INET, SOCK_STREAM, $IPPROTO_SCTP) or do { print "fail: socket: $!\n"; exit 1 };
setsockopt($srv, SOL_SOCKET, SO_REUSEADDR, 1);
bind($srv, $addr) or do { print "fail: bind: $!\n"; exit 1 };
listen($srv, 1) or do { print "fail: listen: $!\n"; exit 1 };

my $pid = fork();
defined $pid or do { print "fail: fork: $!\n"; exit 1 };
if ($pid == 0) {
    close($srv);
    socket(my $c, PF_INET, SOCK_STREAM, $IPPROTO_SCTP) or do { print STDERR "client socket: $!\n"; exit 1 };
    connect($c, $addr) or do { print STDERR "client connect: $!\n"; exit 1 };
    my $n = syswrite($c, $payload);
    defined $n && $n == length($payload) or do { print STDERR "client send: $!\n"; exit 1 };
    close($c);
    exit 0;
}
accept(my $conn, $srv) or do { print "fail: accept: $!\n"; exit 1 };
my $got = '';
while (1) {
    my $r = sysread($conn, my $buf, 65536);
    defined $r or do { print "fail: recv: $!\n"; exit 1 };
    last if $r == 0;
    $got .= $buf;
}
waitpid($pid, 0);
my $client = $? >> 8;
if ($got eq $payload && $client == 0) {
    print "ok\n";
    exit 0;
}
print "fail: received ", length($got), " bytes (", substr($got, 0, 80), "), client exit $client\n";
exit 1;
