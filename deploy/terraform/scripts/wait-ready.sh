#!/bin/bash
# wait-ready.sh: the readiness gate of a new worker host (modules/worker_hosts,
# terraform_data.ready). It waits until the host's bootstrap prints its
# verdict on the instance console (user_data.sh.tftpl: "checkfleet-bootstrap:
# ready|failed host=H instance=I ...") and exits 0 for ready, 1 with the
# host's reason for failed, 1 when READY_TIMEOUT passes (plus 5 minutes for
# the boot and installs before the bootstrap's own wait begins).
#
# Environment: INSTANCE_ID, HOST, AWS_REGION, READY_TIMEOUT (600s, 10m);
# POLL (seconds between reads, 15). It needs the AWS CLI and
# ec2:GetConsoleOutput on the instance (the operator's, not the host's).
set -euo pipefail

: "${INSTANCE_ID:?INSTANCE_ID is required}" "${HOST:?HOST is required}" "${AWS_REGION:?AWS_REGION is required}"
READY_TIMEOUT=${READY_TIMEOUT:-10m}
POLL=${POLL:-15}
BOOT_ALLOWANCE=${BOOT_ALLOWANCE:-300}

case $READY_TIMEOUT in
*m) limit=$((${READY_TIMEOUT%m} * 60)) ;;
*s) limit=${READY_TIMEOUT%s} ;;
*) echo "wait-ready: READY_TIMEOUT $READY_TIMEOUT: want e.g. 600s or 10m" >&2 && exit 2 ;;
esac
deadline=$((SECONDS + limit + BOOT_ALLOWANCE))
command -v aws >/dev/null || { echo "wait-ready: the AWS CLI (aws) is needed to read the console of $INSTANCE_ID" >&2 && exit 2; }

prefix="checkfleet-bootstrap: "
echo "wait-ready: host $HOST ($INSTANCE_ID): waiting for its slots to be ready (up to ${READY_TIMEOUT} after boot)" >&2
while :; do
	# --latest: the console as it is now (Nitro instances), not a snapshot.
	out=$(aws ec2 get-console-output --region "$AWS_REGION" --instance-id "$INSTANCE_ID" --latest --output text --query Output 2>&1) || {
		echo "wait-ready: reading the console of $INSTANCE_ID: $out" >&2
		out=
	}
	line=$(printf '%s\n' "$out" | tr -d '\r' | grep -E "^(.*[] ])?${prefix}(ready|failed) host=${HOST} instance=${INSTANCE_ID}( |$)" | tail -n 1 || true)
	line=${line#*"$prefix"}
	case $line in
	ready*)
		echo "wait-ready: host $HOST ($INSTANCE_ID) is ready: $line" >&2
		exit 0
		;;
	failed*)
		echo "wait-ready: host $HOST ($INSTANCE_ID) failed its bootstrap: ${line#*reason=}" >&2
		echo "wait-ready: the host it replaces keeps running; see README.md, 'When the gate fails'" >&2
		exit 1
		;;
	esac
	if [ "$SECONDS" -ge "$deadline" ]; then
		echo "wait-ready: host $HOST ($INSTANCE_ID) printed no verdict within ${READY_TIMEOUT} + ${BOOT_ALLOWANCE}s; its console ends with:" >&2
		printf '%s\n' "$out" | tail -n 5 >&2
		exit 1
	fi
	sleep "$POLL"
done
