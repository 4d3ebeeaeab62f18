"""Scans a TLS server with SSLyze and checks it against Mozilla's "intermediate" server
configuration (https://ssl-config.mozilla.org/); prints the findings as JSON for the e2e
tests: the protocol versions and cipher suites accepted, the certificate's subject and
lifetime, and every way the server falls short of the profile. A scan that cannot complete
fails with a non-zero exit status.

Usage: tls_check.py HOST PORT
"""

import json
import sys

from sslyze import (
    Scanner,
    ServerNetworkLocation,
    ServerScanRequest,
    ServerScanStatusEnum,
)
from sslyze.mozilla_tls_profile.tls_config_checker import (
    SCAN_COMMANDS_NEEDED_BY_MOZILLA_CHECKER,
    MozillaTlsConfiguration,
    ServerNotCompliantWithTlsConfiguration,
    TlsConfigurationEnum,
    check_server_against_tls_configuration,
)

VERSIONS = {
    "ssl_2_0_cipher_suites": "SSLv2",
    "ssl_3_0_cipher_suites": "SSLv3",
    "tls_1_0_cipher_suites": "TLSv1",
    "tls_1_1_cipher_suites": "TLSv1.1",
    "tls_1_2_cipher_suites": "TLSv1.2",
    "tls_1_3_cipher_suites": "TLSv1.3",
}


def main() -> None:
    host, port = sys.argv[1], int(sys.argv[2])
    location = ServerNetworkLocation(hostname=host, port=port, ip_address=host)
    scanner = Scanner()
    scanner.queue_scans(
        [
            ServerScanRequest(
                server_location=location,
                scan_commands=SCAN_COMMANDS_NEEDED_BY_MOZILLA_CHECKER,
            )
        ]
    )
    (result,) = list(scanner.get_results())
    if result.scan_status != ServerScanStatusEnum.COMPLETED:
        sys.exit(f"the scan of {host}:{port} did not complete: {result.connectivity_error_trace}")

    accepted = {}
    for attribute, version in VERSIONS.items():
        attempt = getattr(result.scan_result, attribute)
        if attempt.result and attempt.result.accepted_cipher_suites:
            accepted[version] = [
                suite.cipher_suite.openssl_name for suite in attempt.result.accepted_cipher_suites
            ]

    deployment = result.scan_result.certificate_info.result.certificate_deployments[0]
    leaf = deployment.received_certificate_chain[0]

    issues = {}
    try:
        check_server_against_tls_configuration(
            server_scan_result=result,
            tls_config_to_check_against=MozillaTlsConfiguration.get(
                TlsConfigurationEnum.MOZILLA_INTERMEDIATE
            ),
        )
    except ServerNotCompliantWithTlsConfiguration as error:
        issues = error.issues

    print(
        json.dumps(
            {
                "accepted": accepted,
                "subject": leaf.subject.rfc4514_string(),
                "lifetime_days": (leaf.not_valid_after_utc - leaf.not_valid_before_utc).days,
                "issues": issues,
            }
        )
    )


if __name__ == "__main__":
    main()
