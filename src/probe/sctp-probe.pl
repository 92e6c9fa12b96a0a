#!/usr/bin/perl
# modlayer's SCTP probe: the documentation's listener/client test, with nothing installed at run
# time (perl and its core Socket module only). The same script runs in the boot proof
# (tests/boot.rs, `roundtrip` over loopback) and in `modlayer render smoke-test` (a server Pod and
# a client Job through a Service).
#
#   sctp-probe.pl server PORT                  echo one line back on every association, forever
#   sctp-probe.pl client HOST PORT [PAYLOAD]   send PAYLOAD (random if none) plus "\n", expect it back
#   sctp-probe.pl roundtrip PORT [PAYLOAD]     both over 127.0.0.1, in two processes
#   sctp-probe.pl PORT PAYLOAD                 the same as roundtrip
#
# One-to-one (SOCK_STREAM) SCTP sockets. Prints "ok" and exits 0 exactly when the payload crossed
# and came back; else prints "fail: <why>" and exits 1 ("socket: Protocol not supported" means
# the node has no sctp module loaded and cannot load it).
use strict;
use warnings;
use Socket qw(PF_INET SOCK_STREAM SOL_SOCKET SO_REUSEADDR INADDR_ANY pack_sockaddr_in inet_aton);

my $IPPROTO_SCTP = 132;

sub fail { print "fail: @_\n"; exit 1 }

sub sctp_socket {
    socket(my $s, PF_INET, SOCK_STREAM, $IPPROTO_SCTP)
        or fail("socket: $! (no sctp module on this node, or it is blacklisted)");
    return $s;
}

sub listener {
    my ($addr, $port) = @_;
    my $s = sctp_socket();
    setsockopt($s, SOL_SOCKET, SO_REUSEADDR, 1);
    bind($s, pack_sockaddr_in($port, $addr)) or fail("bind port $port: $!");
    listen($s, 16) or fail("listen: $!");
    return $s;
}

# Read one line (up to "\n" or end of stream) from a connected socket.
sub read_line {
    my ($c) = @_;
    my $got = '';
    while ($got !~ /\n/) {
        my $r = sysread($c, my $buf, 65536);
        return (undef, "recv: $!") unless defined $r;
        last if $r == 0;
        $got .= $buf;
    }
    return ($got, undef);
}

# Serve one association: read a line, send it back, close.
sub serve_one {
    my ($srv) = @_;
    accept(my $conn, $srv) or return "accept: $!";
    my ($line, $err) = read_line($conn);
    return $err if defined $err;
    my $n = syswrite($conn, $line);
    close($conn);
    return (defined $n && $n == length($line)) ? undef : "send: $!";
}

# Connect, send the payload and a newline, expect the same line back; retries the connection for
# up to a minute (a server Pod may not be ready yet).
sub client {
    my ($host, $port, $payload) = @_;
    my $ip = inet_aton($host) or fail("cannot resolve $host");
    my ($c, $last);
    for my $try (1 .. 30) {
        $c = sctp_socket();
        last if connect($c, pack_sockaddr_in($port, $ip));
        $last = "$!";
        close($c);
        undef $c;
        sleep 2;
    }
    defined $c or fail("connect $host:$port: $last");
    my $n = syswrite($c, "$payload\n");
    defined $n && $n == length($payload) + 1 or fail("send: $!");
    my ($line, $err) = read_line($c);
    fail($err) if defined $err;
    close($c);
    $line eq "$payload\n"
        or fail("sent " . length($payload) . " bytes, got back " . length($line) . " (" . substr($line, 0, 80) . ")");
    print "ok\n";
    exit 0;
}

sub random_payload {
    return sprintf("modlayer-%08x%08x", int(rand(0xffffffff)), int(rand(0xffffffff)));
}

$SIG{ALRM} = sub { fail("timed out") };
my $mode = shift(@ARGV) // '';
if ($mode =~ /^\d+$/) {
    unshift @ARGV, $mode;
    $mode = 'roundtrip';
}
if ($mode eq 'server') {
    my ($port) = @ARGV;
    defined $port or fail("usage: server PORT");
    my $srv = listener(INADDR_ANY, $port);
    $| = 1;
    print "listening on SCTP port $port\n";
    while (1) {
        my $err = serve_one($srv);
        print "association: ", ($err // "echoed"), "\n";
    }
} elsif ($mode eq 'client') {
    my ($host, $port, $payload) = @ARGV;
    defined $port or fail("usage: client HOST PORT [PAYLOAD]");
    alarm 120;
    client($host, $port, $payload // random_payload());
} elsif ($mode eq 'roundtrip') {
    my ($port, $payload) = @ARGV;
    defined $port or fail("usage: roundtrip PORT [PAYLOAD]");
    alarm 20;
    my $srv = listener(inet_aton('127.0.0.1'), $port);
    my $pid = fork();
    defined $pid or fail("fork: $!");
    if ($pid == 0) {
        my $err = serve_one($srv);
        exit(defined $err ? 1 : 0);
    }
    close($srv);
    client('127.0.0.1', $port, $payload // random_payload());
} else {
    fail("usage: sctp-probe.pl server PORT | client HOST PORT [PAYLOAD] | roundtrip PORT [PAYLOAD]");
}
