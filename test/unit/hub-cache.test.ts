import assert from "node:assert/strict";
import { mkdirSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import { folderNameOfRepository, hubCacheFolder, listHubCache, repositoryIdOfFolder } from "../../src/checkpoint/hub-cache";
import { removeTemporaryFolders, temporaryFolder, writeHubRepository } from "./helpers/model-folders";

describe("extension: the Hugging Face hub cache", () => {
  after(removeTemporaryFolders);

  it("is HF_HUB_CACHE, else HF_HOME/hub, else ~/.cache/huggingface/hub", () => {
    const home = "/home/ada";
    assert.equal(hubCacheFolder({}, home), join(home, ".cache", "huggingface", "hub"));
    assert.equal(hubCacheFolder({ HF_HOME: "/data/hf" }, home), join("/data/hf", "hub"));
    assert.equal(hubCacheFolder({ HF_HOME: "/data/hf", HF_HUB_CACHE: "/fast/hub" }, home), "/fast/hub");
    assert.equal(hubCacheFolder({ HF_HUB_CACHE: "~/hub" }, home), join(home, "hub"));
    assert.equal(hubCacheFolder({ HF_HUB_CACHE: "  ", HF_HOME: "" }, home), join(home, ".cache", "huggingface", "hub"), "empty values are unset");
  });

  it("names repositories as the hub does: models--org--name is org/name", () => {
    assert.equal(repositoryIdOfFolder("models--HuggingFaceTB--SmolLM2-135M"), "HuggingFaceTB/SmolLM2-135M");
    assert.equal(repositoryIdOfFolder("models--gpt2"), "gpt2");
    assert.equal(repositoryIdOfFolder("datasets--wikitext--wikitext-2"), undefined);
    assert.equal(repositoryIdOfFolder(".locks"), undefined);
    assert.equal(folderNameOfRepository("Qwen/Qwen2.5-0.5B"), "models--Qwen--Qwen2.5-0.5B");
  });

  it("takes the snapshot refs/main names, else the newest; skips datasets; a repository without snapshots is a problem", async () => {
    const cache = temporaryFolder();
    const files = new Map([["config.json", "{}"]]);
    const older = writeHubRepository(cache, "Org/with-main", "1111111111111111111111111111111111111111", files);
    const main = writeHubRepository(cache, "Org/with-main", "2222222222222222222222222222222222222222", files);
    writeFileSync(join(older.repositoryFolder, "refs", "main"), "2222222222222222222222222222222222222222\n");
    const first = writeHubRepository(cache, "Org/no-refs", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", files, { refsMain: false });
    const newest = writeHubRepository(cache, "Org/no-refs", "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", files, { refsMain: false });
    utimesSync(first.snapshotFolder, new Date(2020, 0, 1), new Date(2020, 0, 1));
    utimesSync(newest.snapshotFolder, new Date(2024, 0, 1), new Date(2024, 0, 1));
    mkdirSync(join(cache, "models--Org--stopped", "blobs"), { recursive: true });
    mkdirSync(join(cache, "datasets--Org--data", "snapshots", "cccc"), { recursive: true });

    const listing = await listHubCache(cache);
    assert.deepEqual(
      listing.repositories.map((repository) => [repository.repositoryId, repository.commit, repository.chosenBy]),
      [
        ["Org/no-refs", "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", "newest snapshot"],
        ["Org/with-main", "2222222222222222222222222222222222222222", "refs/main"],
      ],
    );
    assert.equal(listing.repositories[1].snapshotFolder, main.snapshotFolder);
    assert.equal(listing.repositories[1].repositoryFolder, main.repositoryFolder);
    assert.equal(listing.problems.length, 1);
    assert.equal(listing.problems[0].repositoryId, "Org/stopped");
    assert.match(listing.problems[0].message, /models--Org--stopped holds no snapshot .*did not finish\. Download it again: `hf download Org\/stopped`/);
  });

  it("refs/main naming a snapshot that is gone: the newest snapshot", async () => {
    const cache = temporaryFolder();
    const repository = writeHubRepository(cache, "Org/moved", "dddddddddddddddddddddddddddddddddddddddd", new Map([["config.json", "{}"]]));
    writeFileSync(join(repository.repositoryFolder, "refs", "main"), "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee");
    const [found] = (await listHubCache(cache)).repositories;
    assert.deepEqual([found.commit, found.chosenBy], ["dddddddddddddddddddddddddddddddddddddddd", "newest snapshot"]);
  });

  it("a cache folder that does not exist: no models and no problem (nothing was downloaded)", async () => {
    assert.deepEqual(await listHubCache(join(temporaryFolder(), "no-such-cache")), { repositories: [], problems: [] });
  });
});
