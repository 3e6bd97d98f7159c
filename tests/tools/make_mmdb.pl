#!/usr/bin/perl
# SPDX-License-Identifier: BSD-2-Clause
# tests/tools/make_mmdb.pl — build the small MaxMind DB files the GeoIP unit
# tests read, with MaxMind::DB::Writer (Debian libmaxmind-db-writer-perl).
#
#   perl tests/tools/make_mmdb.pl OUTDIR
#
# writes OUTDIR/country.mmdb (GeoIP2-Country layout) and OUTDIR/asn.mmdb
# (GeoLite2-ASN layout). Both are IPv6 trees with the IPv4 space aliased
# (::ffff:0:0/96 -> ::/96), so IPv4 lookups work as in MaxMind's own files.
# The networks are documentation, loopback and private ranges, which the
# writer would drop unless told to keep reserved networks.
use strict;
use warnings;

use MaxMind::DB::Writer::Tree;

my $dir = shift @ARGV or die "usage: $0 OUTDIR\n";

my %types = (
    country                        => 'map',
    registered_country             => 'map',
    iso_code                       => 'utf8_string',
    autonomous_system_number       => 'uint32',
    autonomous_system_organization => 'utf8_string',
);

# Keep the tests' expectations next to the data: see test_geoip.c.
my @country = (
    [ '127.0.0.2/32',   { country => { iso_code => 'DE' } } ],
    [ '127.0.0.3/32',   { country => { iso_code => 'FR' } } ],
    [ '127.0.1.0/24',   { country => { iso_code => 'US' } } ],
    # Only the registered country: the lookup falls back to it.
    [ '127.0.0.4/32',   { registered_country => { iso_code => 'JP' } } ],
    # Both: country wins.
    [ '127.0.0.5/32',
      { country => { iso_code => 'IT' }, registered_country => { iso_code => 'CH' } } ],
    # Lower case is accepted and upper-cased; a bad code is no country.
    [ '127.0.0.6/32',   { country => { iso_code => 'se' } } ],
    [ '127.0.0.7/32',   { country => { iso_code => 'X1' } } ],
    [ '127.0.0.8/32',   { country => { iso_code => 'GBR' } } ],
    # A record without any code.
    [ '127.0.0.9/32',   { country => {} } ],
    [ '2001:db8::/32',  { country => { iso_code => 'NL' } } ],
    [ 'fd00:1::/48',    { country => { iso_code => 'AT' } } ],
);

my @asn = (
    [ '127.0.0.2/32', { autonomous_system_number => 64500,
                        autonomous_system_organization => 'Test AS One' } ],
    [ '127.0.1.0/24', { autonomous_system_number => 64501,
                        autonomous_system_organization => 'Test AS Two' } ],
    [ '2001:db8::/32', { autonomous_system_number => 4200000000,
                         autonomous_system_organization => 'Test AS 32-bit' } ],
    # A record without the number.
    [ '127.0.0.3/32', { autonomous_system_organization => 'No number' } ],
);

sub build {
    my ($file, $type, $desc, $nets) = @_;
    my $tree = MaxMind::DB::Writer::Tree->new(
        ip_version               => 6,
        record_size              => 24,
        database_type            => $type,
        languages                => ['en'],
        description              => { en => $desc },
        map_key_type_callback    => sub { $types{ $_[0] } },
        alias_ipv6_to_ipv4       => 1,
        remove_reserved_networks => 0,
    );
    for my $n (@$nets) {
        $tree->insert_network( $n->[0], $n->[1] );
    }
    open my $fh, '>:raw', "$dir/$file" or die "$dir/$file: $!\n";
    $tree->write_tree($fh);
    close $fh or die "$dir/$file: $!\n";
}

build( 'country.mmdb', 'GeoIP2-Country', 'dnsgate test countries', \@country );
build( 'asn.mmdb', 'GeoLite2-ASN', 'dnsgate test AS numbers', \@asn );
