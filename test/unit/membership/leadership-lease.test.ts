import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LeadershipLease } from '../../../src/membership/leadership-lease.js';

const SESSION_MS = 3000;

function lease(state: { now: number; at: number; offset: number; applied: number; leader: boolean }) {
  return new LeadershipLease(SESSION_MS, () => state.now, {
    currentAsOf: () => ({ at: state.at, offset: state.offset }),
    appliedOffset: () => state.applied,
    isQuorumLeader: () => state.leader,
  });
}

test('a follower holds its leaderships for a session after the last heartbeat sent before its metadata was known current', () => {
  const s = { now: 0, at: Number.NEGATIVE_INFINITY, offset: 0, applied: 0, leader: false };
  const l = lease(s);
  assert.equal(l.valid(), false, 'nothing known yet');
  l.heartbeatAnswered(100);
  s.now = 200;
  assert.equal(l.valid(), false, 'a heartbeat alone says nothing of the metadata');
  s.at = 150;
  s.offset = 10;
  s.applied = 9;
  assert.equal(l.valid(), false, 'current as of 150 only once offset 10 is applied');
  s.applied = 10;
  assert.equal(l.valid(), true);
  s.now = 100 + SESSION_MS - 1;
  assert.equal(l.valid(), true);
  s.now = 100 + SESSION_MS;
  assert.equal(l.valid(), false, 'the controller may have fenced it by now');
});

test('after a pause, a heartbeat answered at once does not renew the lease until metadata fetched after it is applied', () => {
  const s = { now: 1000, at: 900, offset: 5, applied: 5, leader: false };
  const l = lease(s);
  l.heartbeatAnswered(800);
  assert.equal(l.valid(), true);
  // Paused for ten seconds; on resume the controller answers a heartbeat (unfencing it) before
  // this broker has fetched the records that moved its leaderships away.
  s.now = 11_000;
  l.heartbeatAnswered(11_000);
  assert.equal(l.valid(), false);
  s.now = 11_050;
  s.at = 11_010;
  s.offset = 8;
  assert.equal(l.valid(), false, 'records up to 8 not applied yet');
  s.applied = 8;
  assert.equal(l.valid(), true);
});

test('the quorum leader holds its leaderships for a session after a majority last fetched from it', () => {
  const s = { now: 5000, at: 4000, offset: 3, applied: 3, leader: true };
  const l = lease(s);
  assert.equal(l.valid(), true, 'no heartbeat needed');
  s.now = 4000 + SESSION_MS;
  assert.equal(l.valid(), false);
});
