"""The redactor against a corpus: secret shapes that must go, look-alikes that must stay.

Recall and false positives are printed (run with -s) so a change to the rules shows its cost.
"""

from __future__ import annotations

import base64
import json

from tools.redact import redact_text, redact_value


def _luhn_complete(prefix: str) -> str:
    """`prefix` plus the check digit that makes it pass the Luhn test."""
    for check in "0123456789":
        digits = prefix + check
        total = sum((int(c) * 2 - 9 if int(c) * 2 > 9 else int(c) * 2) if i % 2 else int(c) for i, c in enumerate(reversed(digits)))
        if total % 10 == 0:
            return digits
    raise AssertionError("unreachable")


def _jwt(claims: dict) -> str:
    part = lambda obj: base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()  # noqa: E731
    return f"{part({'alg': 'HS256'})}.{part(claims)}.c2ln"


CARD = _luhn_complete("411111111111111")
AMEX = _luhn_complete("37828224631000")
# (text, the secret that must not survive)
SECRETS: list[tuple[str, str]] = [
    ("login password=hunter2 ok", "hunter2"),
    ("PASSWORD=Tr0ub4dor&3", "Tr0ub4dor"),
    ("db_password: 'cors3ct horse'", "cors3ct horse"),
    ('{"password": "s3cr3t!"}', "s3cr3t!"),
    ('{"client_secret":"abcXYZ987"}', "abcXYZ987"),
    ('{"apiKey": "k-12345-abc"}', "k-12345-abc"),
    ("api_key=AbC123dEf456", "AbC123dEf456"),
    ("secret_token='qwerty-uiop'", "qwerty-uiop"),
    ("x-api-key: abc123XYZ", "abc123XYZ"),
    ("X-Api-Key=ZZtop1999", "ZZtop1999"),
    ("postgres://app:pw0rd@db.internal:5432/shop", "pw0rd"),
    ("mysql://root:r00tpass@10.0.0.5/app", "r00tpass"),
    ("redis://default:redispw@cache:6379", "redispw"),
    ("https://deploy:tok3n@git.example.com/repo.git", "tok3n"),
    ("Authorization: Bearer abcdefgh12345", "abcdefgh12345"),
    ("authorization=Bearer mF_9.B5f-4.1JqM", "mF_9.B5f-4.1JqM"),
    ("curl -H 'Authorization: Basic dXNlcjpwYXNz'", "dXNlcjpwYXNz"),
    ("using token ghp_abcdefghijklmnopqrstuv", "ghp_abcdefghijklmnopqrstuv"),
    ("ghs_0123456789abcdefABCDEF0123 used", "ghs_0123456789abcdefABCDEF0123"),
    ("github_pat_11ABCDEFG0123456789_abcdefghijklmnop", "github_pat_11ABCDEFG0123456789_abcdefghijklmnop"),
    (f"jwt {_jwt({'sub': 'u1'})}", _jwt({"sub": "u1"})),
    (f"cookie session={_jwt({'sub': 'admin', 'exp': 1})}", _jwt({"sub": "admin", "exp": 1})),
    ("key AKIAIOSFODNN7EXAMPLE in use", "AKIAIOSFODNN7EXAMPLE"),
    ("env AWS_AKIAIOSFODNN7EXAMPLE set", "IOSFODNN7EXAMPLE"),
    ("temp creds ASIAQWERTYUIOPASDFGH", "ASIAQWERTYUIOPASDFGH"),
    ("secret key wJalrXUtnFEMIKbPxRfiCYEXAMPLEKEYabcdefgh", "wJalrXUtnFEMIKbPxRfiCYEXAMPLEKEYabcdefgh"),
    ("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
    ("FwoGZXIvYXdzEBYaDOXAMPLEsessionTOKENabcdefGHIJKL1234567890", "FwoGZXIvYXdzEBYaDOXAMPLEsessionTOKENabcdefGHIJKL1234567890"),
    (f"paid with {CARD}", CARD),
    (f"card {CARD[:4]} {CARD[4:8]} {CARD[8:12]} {CARD[12:]}", f"{CARD[4:8]} {CARD[8:12]}"),
    (f"amex {AMEX}", AMEX),
    (f"pan={CARD[:4]}-{CARD[4:8]}-{CARD[8:12]}-{CARD[12:]}", f"{CARD[4:8]}-{CARD[8:12]}"),
    ("-----BEGIN RSA PRIVATE KEY-----\nMIIBOgIBAAJBAKj34\n-----END RSA PRIVATE KEY-----", "MIIBOgIBAAJBAKj34"),
    ("-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA", "MC4CAQAwBQYDK2VwBCIEIA"),
    ("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjE\n-----END OPENSSH PRIVATE KEY-----", "b3BlbnNzaC1rZXktdjE"),
    ("slack xoxb-123456789012-abcdefghijkl", "xoxb-123456789012-abcdefghijkl"),
    ("stripe sk_live_4eC39HqLyjWDarjtT1zdp7dc", "sk_live_4eC39HqLyjWDarjtT1zdp7dc"),
    ("SG.abcdefghijklmnopqrstuv.abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"),
    ("npm //registry.npmjs.org/:_authToken=npm_abcdefghijklmnopqrstuvwxyz0123456789", "npm_abcdefghijklmnopqrstuvwxyz0123456789"),
    ("contact ops.oncall@example.com now", "ops.oncall@example.com"),
    ("credential=c0nf1dential", "c0nf1dential"),
    ("DB_PASSWD=letmein", "letmein"),
]

# (text, what it must read after redaction: itself unless it holds an account id)
LOOK_ALIKES: list[tuple[str, str]] = [
    (t, t) for t in [
        "trace 1-5f84c7a1-8a3b2c1d4e5f60718293a4b5",
        "X-Amzn-Trace-Id: Root=1-67891233-abcdef012345678912345678",
        "trace_id=4bf92f3577b34da6a3ce929d0e0e4736",
        "span 00f067aa0ba902b7",
        "request id 550e8400-e29b-41d4-a716-446655440000",
        "RequestId: c0e2d7a4-1b3f-4e8a-9d6c-7f5e4a3b2c1d",
        "uuid 123e4567-e89b-12d3-a456-426614174000",
        "sha1 da39a3ee5e6b4b0d3255bfef95601890afd80709",
        "sha256 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "md5 d41d8cd98f00b204e9800998ecf8427e",
        "commit 3fef5e8a9b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e",
        "image sha256:9b2a0f3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f80",
        "2024-05-01T12:00:00Z",
        "2024-05-01T12:00:00.123+00:00 GET /api/cart 200",
        "at 2024-05-01 12:00:00,123 INFO started",
        "epoch 1714564800",
        "took 1714564800123 ms",
        "client 10.0.3.17 connected",
        "peer 203.0.113.42:443 reset",
        "version 1.34.12",
        "image shop/cart:2024.05.01-3",
        "python 3.11.9 on linux",
        "GET /api/cart status=502 took 1234 ms",
        "arn:aws:s3:::shop-assets/images",
        "arn:aws:ecs:us-east-1:000000000000:service/shop/cart",
        "ERROR connection refused to db.internal:5432 after 3 retries",
        "token bucket refill rate 100/s",
        "password reset page rendered in 12 ms",
        "secrets manager rotation scheduled",
        "user_id=42 order_id=98765 total=12.50",
        "order 4111 items shipped",
        "i-0abcd1234efgh5678 stopped",
        "subnet-0bb1c79de3EXAMPLE in us-east-1a",
        "eni-1a2b3c4d attached",
        "sg-903004f8 ingress 443",
        "phone +1-202-555-0143",
        "ts-order-service v2.3.1 deployed",
        "Kubernetes pod cart-7d9f8b6c5d-x2k4q restarted",
        "HTTP/1.1 503 Service Unavailable",
        "latency p99=1834.5ms p50=120ms",
        "heap 1073741824 bytes",
        "ISBN 978-3-16-148410-0",
    ]
] + [
    ("arn:aws:iam::123456789012:role/deploy", "arn:aws:iam::000000000000:role/deploy"),
    ("account 123456789012 in region us-east-1", "account 000000000000 in region us-east-1"),
]


def test_corpus_secrets_go_and_look_alikes_stay() -> None:
    assert len(SECRETS) >= 40 and len(LOOK_ALIKES) >= 40
    leaked = [(text, redact_text(text)) for text, secret in SECRETS if secret in redact_text(text)]
    changed = [(text, redact_text(text)) for text, expected in LOOK_ALIKES if redact_text(text) != expected]
    recall = 1 - len(leaked) / len(SECRETS)
    print(f"\nredaction recall {recall:.0%} ({len(SECRETS) - len(leaked)}/{len(SECRETS)}), "
          f"false positives {len(changed)}/{len(LOOK_ALIKES)}")
    assert not leaked, f"secrets that survived: {leaked}"
    assert not changed, f"look-alikes that were changed: {changed}"


def test_redaction_is_deterministic_and_keeps_key_names() -> None:
    text = "password=hunter2 arn:aws:iam::123456789012:role/x"
    assert redact_text(text) == redact_text(text) == "password=<redacted> arn:aws:iam::000000000000:role/x"


def test_name_value_pairs_in_change_parameters_are_judged_by_their_name() -> None:
    # The shape of CloudTrail's RegisterTaskDefinition request parameters.
    params = {"containerDefinitions": [{"name": "cart", "image": "shop/cart:1.2", "environment": [
        {"name": "DB_PASSWORD", "value": "plain-text-pw"},
        {"name": "STRIPE_API_KEY", "value": "abc"},
        {"name": "LOG_LEVEL", "value": "debug"},
    ]}]}
    env = redact_value(params)["containerDefinitions"][0]["environment"]
    assert env == [
        {"name": "DB_PASSWORD", "value": "<redacted>"},
        {"name": "STRIPE_API_KEY", "value": "<redacted>"},
        {"name": "LOG_LEVEL", "value": "debug"},
    ]
    assert redact_value({"Key": "github_token", "Value": "x1"}) == {"Key": "github_token", "Value": "<redacted>"}
