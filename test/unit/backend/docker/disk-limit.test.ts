import assert from "node:assert/strict";
import { test } from "node:test";
import { diskLimitRefusal } from "../../../../src/backend/docker/disk-limit.ts";
import { containerCreateArgs, stopArgs } from "../../../../src/backend/docker/engine/args.ts";
import { parseInfo } from "../../../../src/backend/docker/engine/parse.ts";

test("limits.disk is refused where the engine cannot cap a writable layer, saying what to do", () => {
  const refusal = diskLimitRefusal({ driver: "overlay2", backingFilesystem: "extfs" });
  assert.match(
    refusal ?? "",
    /this Docker engine stores containers with overlay2 on extfs, which cannot cap/,
  );
  assert.match(refusal ?? "", /Remove limits\.disk from the bottle manifest/);
  assert.notEqual(diskLimitRefusal({ driver: "vfs", backingFilesystem: "" }), undefined);
  assert.notEqual(diskLimitRefusal({ driver: "", backingFilesystem: "" }), undefined);
  // Where Docker can: overlay2 on XFS (pquota is checked by the engine at create), and the drivers with quotas.
  for (const storage of [
    { driver: "overlay2", backingFilesystem: "xfs" },
    { driver: "btrfs", backingFilesystem: "btrfs" },
    { driver: "zfs", backingFilesystem: "" },
    { driver: "devicemapper", backingFilesystem: "xfs" },
  ])
    assert.equal(diskLimitRefusal(storage), undefined, storage.driver);
});

test("the storage driver and its filesystem are read from docker info", () => {
  const info = parseInfo(
    JSON.stringify({
      ServerVersion: "20.10.24",
      Driver: "overlay2",
      DriverStatus: [
        ["Backing Filesystem", "extfs"],
        ["Supports d_type", "true"],
      ],
    }),
  );
  assert.deepEqual(info.storage, { driver: "overlay2", backingFilesystem: "extfs" });
  assert.deepEqual(parseInfo(JSON.stringify({ ServerVersion: "x" })).storage, {
    driver: "",
    backingFilesystem: "",
  });
});

test("a disk limit becomes --storage-opt size on the container; stop waits with its grace", () => {
  assert.deepEqual(containerCreateArgs({ image: "img", diskBytes: 2 * 1024 ** 3 }, undefined).slice(0, 3), [
    "create",
    "--storage-opt",
    `size=${2 * 1024 ** 3}`,
  ]);
  assert.deepEqual(stopArgs("cb-x-agent", 10), ["stop", "--time", "10", "cb-x-agent"]);
  assert.throws(() => stopArgs("--all", 0), TypeError);
  assert.throws(() => stopArgs("x", -1), TypeError);
});
