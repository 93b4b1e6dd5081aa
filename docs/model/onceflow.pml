/*
 * Onceflow's claim protocol as implemented, for spin (docs/design.md section 12 maps every action below to the
 * code). One model; the configuration and the deliberately broken variants are chosen with -D flags by
 * docs/model/check.sh.
 *
 * Every DynamoDB request is one atomic step evaluated against the claims table with exactly the conditions of
 * lambda/core/claim-expressions.ts. Between any two steps of a consumer: other consumers, time, TTL deletion,
 * redrive, a crash, a pause, or the Lambda timeout may happen.
 *
 * Properties (each switched on by its flag; check.sh turns all on for the real protocol):
 *   CHECK_ONCE     effects of an id are applied at most once within its window (two applies of an id are
 *                  more than W - MARGIN apart in real time)
 *   CHECK_ZOMBIE   a lease-mode commit never lands for an owner whose lease was taken over
 *   CHECK_LIVENESS every execution ends with each id applied or parked (all executions are finite: every step
 *                  uses a budget or moves time towards TMAX, so "eventually" is "at the end"; asserted when
 *                  nothing can move any more, with spin's timeout)
 *   CHECK_OWNERS   no two consumers run a handler for one id at once (both within their Lambda timeout, not
 *                  paused), while clocks disagree by at most the margin
 *
 * Broken variants (each must be rejected):
 *   BROKEN_UNCONDITIONAL_DONE    the DONE update has no condition, as Powertools' idempotency does
 *   BROKEN_DONE_WITHOUT_TOKEN    the DONE update checks status = PROCESSING but not the lease token
 *   BROKEN_PARK_DOWNGRADES_DONE  a park without a claim has no condition, so it can turn DONE into FAILED
 *   BROKEN_ACK_IN_FLIGHT         an InFlight claim answer is acknowledged like a duplicate
 *   BROKEN_LEASE_WITHOUT_MARGIN  lease = T + margin - 1, which the construct refuses
 *   BROKEN_LEASE_OVER_INCLUSIVE  "lease over" compares leaseExpiresAtMs <= :nowMs instead of <
 *   BROKEN_SKEW_BEYOND_MARGIN    clocks disagree by one unit more than the margin
 */

#ifndef NC
#define NC 2                 /* consumers */
#endif
#ifndef NI
#define NI 1                 /* messageIds */
#endif
#ifndef NCOPIES
#define NCOPIES 2            /* SQS copies; copy k carries id k % NI (more copies than ids = producer duplicates) */
#endif
#if NI > 1
#define B 2                  /* batch size: two ids make a grouped commit */
#else
#define B 1
#endif

/* Budgets: they bound the executions. */
#ifndef MAX_CRASHES
#define MAX_CRASHES 1
#endif
#ifndef MAX_PAUSES
#define MAX_PAUSES 1
#endif
#ifndef MAX_LOST
#define MAX_LOST 1           /* responses lost after DynamoDB applied the request */
#endif
#ifndef MAX_EXTENDS
#define MAX_EXTENDS 1
#endif
#ifndef MAX_REDRIVES
#define MAX_REDRIVES 1
#endif
#ifndef MAX_RECEIVES
#define MAX_RECEIVES 2       /* maxReceiveCount: the last receive parks instead of returning */
#endif
#ifndef TMAX
#define TMAX 7
#endif

/* Time, in one unit for ms and s. T: Lambda function timeout. LEASE >= T + MARGIN (the construct's invariant). */
#ifndef T
#define T 1
#endif
#define MARGIN 1
#ifdef BROKEN_LEASE_WITHOUT_MARGIN
#define LEASE (T + MARGIN - 1)
#else
#define LEASE (T + MARGIN)
#endif
#define W (LEASE + 1)        /* dedup window: longer than a lease, as the synth-time check on W requires */
#ifdef BROKEN_SKEW_BEYOND_MARGIN
#define SKEW (MARGIN + 1)
#else
#define SKEW MARGIN
#endif
/* Consumer 1 (and every odd one) runs SKEW ahead of real time; the others are exact. */
#define CLOCK(c) (now + ((c) % 2) * SKEW)

/* Mixed mode: consumer 1 is optimistic (no claim; the DONE update carries CLAIMABLE). */
#ifdef MIX
#define OPTIMISTIC(c) ((c) == 1)
#else
#define OPTIMISTIC(c) false
#endif

/* The claim record (docs/design.md section 2). status 0 and token 0: attribute absent. */
#define PROCESSING 1
#define DONE 2
#define FAILED 3
#define NOATTR 255           /* leaseExpiresAtMs removed */
typedef Rec {
  bool exists;
  byte status;
  byte token;                /* leaseToken */
  byte leaseExp;             /* leaseExpiresAtMs */
  byte expiresAt             /* expiresAtEpochSeconds, the TTL */
};
Rec rec[NI];

/* lambda/core/claim-expressions.ts. A comparison with an absent attribute is false, as in DynamoDB. */
#ifdef BROKEN_LEASE_OVER_INCLUSIVE
#define LEASE_OVER(e, t) ((e) <= (t))
#else
#define LEASE_OVER(e, t) ((e) < (t))
#endif
#define CLAIMABLE(i, t) (!rec[i].exists || rec[i].expiresAt < (t) || rec[i].status == FAILED || \
  (rec[i].status == PROCESSING && rec[i].leaseExp != NOATTR && LEASE_OVER(rec[i].leaseExp, t)))
#define HOLDS_LEASE(i, tk) (rec[i].exists && rec[i].token == (tk) && rec[i].status == PROCESSING)
#define HOLDS_LIVE_LEASE(i, tk, t) (HOLDS_LEASE(i, tk) && rec[i].leaseExp != NOATTR && rec[i].leaseExp >= (t))

#if defined(BROKEN_UNCONDITIONAL_DONE)
#define DONE_CONDITION(i, tk) true
#elif defined(BROKEN_DONE_WITHOUT_TOKEN)
#define DONE_CONDITION(i, tk) (rec[i].exists && rec[i].status == PROCESSING)
#else
#define DONE_CONDITION(i, tk) HOLDS_LEASE(i, tk)
#endif
#ifdef BROKEN_PARK_DOWNGRADES_DONE
#define PARK_CONDITION(i, t) true
#else
#define PARK_CONDITION(i, t) CLAIMABLE(i, t)
#endif

/* SQS copies. */
#define VISIBLE 0
#define HELD 1
#define GONE 2               /* acknowledged (deleted) */
#define IN_DLQ 3             /* parked */
byte copyState[NCOPIES];
byte receives[NCOPIES];      /* ApproximateReceiveCount */
#define IDOF(k) ((k) % NI)

/* Consumers: B slots each, one per batch member. */
#define FREE 0
#define CLAIMING 1
#define CLAIM_LOST 2         /* the claim was applied, its answer lost; the SDK retries or gives up */
#define RUNNING 3            /* the handler runs */
#define READY 4              /* the handler returned; to commit */
#define PARKING 5            /* the last receive: park, then DLQ */
#define SLOT(c, m) ((c) * B + (m))
#define OWNER(s) ((s) / B)
byte phase[NC * B];
byte slotCopy[NC * B];
byte token[NC * B];          /* this claim's lease token */
byte claimNow[NC * B];       /* :nowMs of the claim request (its SDK retry sends the same values) */
byte leaseEnd[NC * B];       /* the lease end this consumer believes */
bool withClaim[NC * B];      /* the claim call returned a claim */
bool takenOver[NC * B];      /* ghost: someone else claimed, committed or parked the id since */
byte startedAt[NC];          /* invocation start, real time */
bool paused[NC];             /* a zombie: paused past its timeout; no deadline applies any more */

byte now = 1;                /* real time; 0 is the released lease's leaseExpiresAtMs */
byte crashes, pauses, lostResponses, extensions, redrives;

/* Ghosts for the properties. */
byte applied[NI];            /* the effects counter: what the staged ADD writes did */
byte lastAppliedAt[NI];

#define HOLDS(s) ((phase[s] == RUNNING || phase[s] == READY) && withClaim[s])
#define CAN_ACT(c) (paused[c] || now <= startedAt[c] + T)
#if B > 1
#define ANY_IN(c, p) (phase[SLOT(c, 0)] == (p) || phase[SLOT(c, 1)] == (p))
#define BUSY(c) (phase[SLOT(c, 0)] != FREE || phase[SLOT(c, 1)] != FREE)
#else
#define ANY_IN(c, p) (phase[SLOT(c, 0)] == (p))
#define BUSY(c) (phase[SLOT(c, 0)] != FREE)
#endif
#define COMMIT_DUE(c) (ANY_IN(c, READY) && !ANY_IN(c, CLAIMING) && !ANY_IN(c, CLAIM_LOST) && !ANY_IN(c, RUNNING))

inline pickSlot(c, p, s) {
#if B > 1
  if
  :: phase[SLOT(c, 0)] == p -> s = SLOT(c, 0)
  :: phase[SLOT(c, 1)] == p -> s = SLOT(c, 1)
  fi
#else
  s = SLOT(c, 0)
#endif
}

/* Every field goes back to 0, so that states that differ only in what an ended invocation left are one state. */
inline freeSlot(s) {
  phase[s] = FREE; slotCopy[s] = 0; token[s] = 0; claimNow[s] = 0; leaseEnd[s] = 0;
  withClaim[s] = 0; takenOver[s] = 0;
  if
  :: !BUSY(OWNER(s)) -> startedAt[OWNER(s)] = 0; paused[OWNER(s)] = 0
  :: else
  fi
}

inline ack(s) { copyState[slotCopy[s]] = GONE; receives[slotCopy[s]] = 0; freeSlot(s) }
inline toDlq(s) { copyState[slotCopy[s]] = IN_DLQ; receives[slotCopy[s]] = 0; freeSlot(s) }

/* Retried or InFlight: back to the queue, or parked instead on the last receive (parkOnLastReceive). */
inline handBack(s) {
  if
  :: receives[slotCopy[s]] >= MAX_RECEIVES -> phase[s] = PARKING
  :: else -> copyState[slotCopy[s]] = VISIBLE; freeSlot(s)
  fi
}

/* A write that replaces the lease of every other holder of id i. */
inline markTakenOver(c, i) {
  x = 0;
  do
  :: x < NC * B ->
     if
     :: OWNER(x) != c && HOLDS(x) && IDOF(slotCopy[x]) == i -> takenOver[x] = 1
     :: else
     fi;
     x++
  :: else -> break
  od;
  x = 0
}

/* Property 4, checked when a consumer starts running a handler: no other consumer runs one for the id. */
inline checkSingleOwner(c, i) {
#ifdef CHECK_OWNERS
  if
  :: !paused[c] ->
     x = 0;
     do
     :: x < NC * B ->
        assert(!(OWNER(x) != c && HOLDS(x) && IDOF(slotCopy[x]) == i && !paused[OWNER(x)] &&
                 now <= startedAt[OWNER(x)] + T));
        x++
     :: else -> break
     od;
     x = 0
  :: else
  fi
#else
  skip
#endif
}

inline startRunning(s, c, i) {
  phase[s] = RUNNING; withClaim[s] = 1; takenOver[s] = 0; leaseEnd[s] = claimNow[s] + LEASE;
  checkSingleOwner(c, i)
}

/* The claim's UpdateItem succeeded (ClaimStore.claim). */
inline grantClaim(s, c, i, t) {
  markTakenOver(c, i);
  rec[i].exists = 1; rec[i].status = PROCESSING; rec[i].token = token[s];
  rec[i].leaseExp = t + LEASE; rec[i].expiresAt = t + W
}

/* A refused claim, read from ALL_OLD (refusal in claim-results.ts): DONE -> Duplicate, else InFlight. */
inline refused(s, i) {
  if
  :: rec[i].exists && rec[i].status == DONE -> ack(s)
  :: else ->
#ifdef BROKEN_ACK_IN_FLIGHT
     ack(s)
#else
     handBack(s)
#endif
  fi
}

inline recordApply(s, c, i) {
#ifdef CHECK_ONCE
  assert(applied[i] == 0 || now + MARGIN > lastAppliedAt[i] + W);
#endif
#ifdef CHECK_ZOMBIE
  assert(!(withClaim[s] && takenOver[s]));
#endif
  applied[i]++; lastAppliedAt[i] = now
}

inline crash(c) {
  x = 0;
  do
  :: x < B ->
     if
     :: phase[SLOT(c, x)] != FREE -> copyState[slotCopy[SLOT(c, x)]] = VISIBLE; freeSlot(SLOT(c, x))
     :: else
     fi;
     x++
  :: else -> break
  od;
  x = 0; paused[c] = 0; startedAt[c] = 0
}

inline receive(c, m, k) {
  copyState[k] = HELD; receives[k]++; slotCopy[SLOT(c, m)] = k;
  if
  :: OPTIMISTIC(c) -> phase[SLOT(c, m)] = RUNNING
  :: else -> phase[SLOT(c, m)] = CLAIMING
  fi
}

inline startInvocation(c) { startedAt[c] = now; paused[c] = 0 }

/* release: UpdateItem SET leaseExpiresAtMs = 0 under HOLDS_LEASE; refused (no change) when the lease is gone. */
inline release(s, i) {
  if
  :: HOLDS_LEASE(i, token[s]) -> rec[i].leaseExp = 0
  :: else
  fi
}

/* park: with the claim under HOLDS_LEASE, without one under CLAIMABLE. NotParked on a DONE record is a duplicate;
   any other refusal still sends the copy to the DLQ (settlement.ts). */
inline park(s, c, i, t) {
  if
  :: withClaim[s] && HOLDS_LEASE(i, token[s]) ->
     rec[i].status = FAILED; rec[i].leaseExp = NOATTR; rec[i].expiresAt = t + W; toDlq(s)
  :: !withClaim[s] && PARK_CONDITION(i, t) ->
     markTakenOver(c, i);
     if
     :: !rec[i].exists -> rec[i].token = 0
     :: else
     fi;
     rec[i].exists = 1; rec[i].status = FAILED; rec[i].leaseExp = NOATTR; rec[i].expiresAt = t + W; toDlq(s)
  :: (withClaim[s] && !HOLDS_LEASE(i, token[s])) || (!withClaim[s] && !PARK_CONDITION(i, t)) ->
     if
     :: rec[i].exists && rec[i].status == DONE -> ack(s)
     :: else -> toDlq(s)
     fi
  fi
}

/* Grouped commit (commitAll / commitGrouped): one TransactWriteItems of every READY member's DONE update.
   A lease-mode member whose lease ended by this consumer's clock is not sent (LeaseExpiredError) unless the
   consumer is paused: the pause then fell between that check and the request. */
inline commitBatch(c) {
   t = CLOCK(c);
   x = 0;
   do
   :: x < B ->
      s = SLOT(c, x);
      if
      :: phase[s] == READY && withClaim[s] && !paused[c] && t > leaseEnd[s] ->
         i = IDOF(slotCopy[s]); release(s, i); handBack(s)
      :: else
      fi;
      x++
   :: else -> break
   od;
   ok = ANY_IN(c, READY); x = 0;
   do
   :: x < B ->
      s = SLOT(c, x); i = IDOF(slotCopy[s]);
      if
      :: phase[s] == READY && withClaim[s] && !DONE_CONDITION(i, token[s]) -> ok = 0
      :: phase[s] == READY && !withClaim[s] && !CLAIMABLE(i, t) -> ok = 0
      :: else
      fi;
      x++
   :: else -> break
   od;
   x = 0;
   do
   :: x < B ->
      s = SLOT(c, x); i = IDOF(slotCopy[s]);
      if
      :: phase[s] == READY && ok ->
         recordApply(s, c, i);
         if
         :: withClaim[s] ->
            if
            :: !rec[i].exists -> rec[i].token = 0   /* only under BROKEN_UNCONDITIONAL_DONE */
            :: else
            fi;
            rec[i].exists = 1; rec[i].status = DONE; rec[i].leaseExp = NOATTR; rec[i].expiresAt = t + W
         :: else ->
            markTakenOver(c, i);
            rec[i].exists = 1; rec[i].status = DONE; rec[i].token = 0; rec[i].leaseExp = NOATTR;
            rec[i].expiresAt = t + W
         fi
      /* Cancelled: the member whose DONE condition failed gets its outcome; the innocent stay READY and
         are sent again in the next round. */
      :: phase[s] == READY && !ok && withClaim[s] && !DONE_CONDITION(i, token[s]) ->
         if
         :: rec[i].exists && rec[i].status == DONE && rec[i].token == token[s] -> ack(s)   /* isOwnCommit */
         :: else -> handBack(s)                     /* ZombieCommitError: not acknowledged, no release */
         fi
      :: phase[s] == READY && !ok && !withClaim[s] && !CLAIMABLE(i, t) -> refused(s, i)
      :: else
      fi;
      x++
   :: else -> break
   od;
   /* Applied: the answer arrives (or the SDK's retry with the same ClientRequestToken gets it), or it is lost
      and the SDK gives up: ClaimStoreUnavailableError, release (refused: DONE), Retried. */
   if
   :: ok && lostResponses < MAX_LOST ->
      lostResponses++; x = 0;
      do
      :: x < B ->
         s = SLOT(c, x);
         if
         :: phase[s] == READY && withClaim[s] -> i = IDOF(slotCopy[s]); release(s, i); handBack(s)
         :: phase[s] == READY && !withClaim[s] -> handBack(s)
         :: else
         fi;
         x++
      :: else -> break
      od
   :: ok ->
      x = 0;
      do
      :: x < B ->
         s = SLOT(c, x);
         if
         :: phase[s] == READY -> ack(s)
         :: else
         fi;
         x++
      :: else -> break
      od
   :: !ok
   fi
}

proctype Consumer(byte c) {
  byte s, i, t, x;
  bool ok;
end_idle:
  do
  /* Receive a batch (an SQS event). */
  :: atomic { !BUSY(c) && copyState[0] == VISIBLE -> startInvocation(c); receive(c, 0, 0) }
#if NCOPIES > 1
  :: atomic { !BUSY(c) && copyState[1] == VISIBLE -> startInvocation(c); receive(c, 0, 1) }
#endif
#if NCOPIES > 2
  :: atomic { !BUSY(c) && copyState[2] == VISIBLE -> startInvocation(c); receive(c, 0, 2) }
#endif
#if B > 1
  :: atomic { !BUSY(c) && copyState[0] == VISIBLE && copyState[1] == VISIBLE ->
       startInvocation(c); receive(c, 0, 0); receive(c, 1, 1) }
#endif

  /* claim: UpdateItem with CLAIMABLE, ReturnValues ALL_OLD. */
  :: atomic { CAN_ACT(c) && ANY_IN(c, CLAIMING) ->
       pickSlot(c, CLAIMING, s); i = IDOF(slotCopy[s]); t = CLOCK(c);
       /* A fresh token: one of this consumer's two, not the one on the record. Only the record's token is ever
          compared, and an older invocation of this consumer never sends again, so this is as good as a UUID. */
       token[s] = 1 + 2 * c + (rec[i].token == 1 + 2 * c);
       claimNow[s] = t;
       if
       :: CLAIMABLE(i, t) ->
          grantClaim(s, c, i, t);
          if
          :: lostResponses < MAX_LOST -> lostResponses++; phase[s] = CLAIM_LOST
          :: true -> startRunning(s, c, i)
          fi
       :: else -> refused(s, i)
       fi;
       s = 0; i = 0; t = 0 }

  /* A lost claim answer: the SDK sends the same request again (same token and :nowMs) and reads its own lease
     (ownClaim in lost-responses.ts), or gives up: the claim store releases by the token, and the copy returns. */
  :: atomic { CAN_ACT(c) && ANY_IN(c, CLAIM_LOST) ->
       pickSlot(c, CLAIM_LOST, s); i = IDOF(slotCopy[s]); t = claimNow[s];
       if
       :: CLAIMABLE(i, t) -> grantClaim(s, c, i, t); startRunning(s, c, i)
       :: !CLAIMABLE(i, t) && rec[i].exists && rec[i].status == PROCESSING && rec[i].token == token[s] ->
          startRunning(s, c, i)
       :: !CLAIMABLE(i, t) && !(rec[i].exists && rec[i].status == PROCESSING && rec[i].token == token[s]) ->
          refused(s, i)
       :: release(s, i); handBack(s)
       fi;
       s = 0; i = 0; t = 0 }

  /* The handler returns (the commit follows once every member of the batch is through), throws a retryable
     error (the lease is released, the copy returns), throws a permanent error (park), or extends its lease. */
  :: atomic { CAN_ACT(c) && ANY_IN(c, RUNNING) ->
       pickSlot(c, RUNNING, s); i = IDOF(slotCopy[s]);
       if
       :: phase[s] = READY
       :: withClaim[s] -> release(s, i); handBack(s)
       :: !withClaim[s] -> handBack(s)
       :: t = CLOCK(c); park(s, c, i, t)
       :: withClaim[s] && extensions < MAX_EXTENDS ->
          extensions++; t = CLOCK(c);
          if
          :: HOLDS_LIVE_LEASE(i, token[s], t) -> rec[i].leaseExp = t + LEASE; leaseEnd[s] = t + LEASE
          :: else -> handBack(s)      /* LeaseLostError aborts the handler: Retried, no release */
          fi
       fi;
       s = 0; i = 0; t = 0 }

  /* The park on the last receive, after the release: a request of its own, so others may act in between. */
  :: atomic { CAN_ACT(c) && ANY_IN(c, PARKING) ->
       pickSlot(c, PARKING, s); i = IDOF(slotCopy[s]); t = CLOCK(c);
       park(s, c, i, t);
       s = 0; i = 0; t = 0 }

  /* The grouped commit, once every member of the batch is through its handler (a cancelled group's innocent
     members are sent again the same way). */
  :: atomic { CAN_ACT(c) && COMMIT_DUE(c) -> commitBatch(c); s = 0; i = 0; t = 0; x = 0; ok = 0 }

  /* Faults at any step: a crash (the copies return to the queue, the claims stay), the Lambda timeout (the same,
     for a consumer that is not paused), and a pause that makes the consumer a zombie. */
  :: atomic { BUSY(c) && crashes < MAX_CRASHES -> crashes++; crash(c) }
  :: atomic { BUSY(c) && !paused[c] && now > startedAt[c] + T -> crash(c) }
  :: atomic { BUSY(c) && !paused[c] && pauses < MAX_PAUSES -> pauses++; paused[c] = 1 }
  od
}

/* Real time. */
active proctype Clock() {
end:
  do
  :: atomic { now < TMAX -> now++ }
  od
}

/* DynamoDB's TTL deletion: lazy, at any time after the record expired. */
active proctype Ttl() {
  byte i;
end:
  do
  :: atomic { rec[0].exists && rec[0].expiresAt < now ->
       rec[0].exists = 0; rec[0].status = 0; rec[0].token = 0; rec[0].leaseExp = 0; rec[0].expiresAt = 0 }
#if NI > 1
  :: atomic { rec[1].exists && rec[1].expiresAt < now ->
       rec[1].exists = 0; rec[1].status = 0; rec[1].token = 0; rec[1].leaseExp = 0; rec[1].expiresAt = 0 }
#endif
  od
}

/* An operator redrives a parked copy from the DLQ to the source queue. */
active proctype Redrive() {
end:
  do
  :: atomic { redrives < MAX_REDRIVES && copyState[0] == IN_DLQ -> redrives++; copyState[0] = VISIBLE; receives[0] = 0 }
#if NCOPIES > 1
  :: atomic { redrives < MAX_REDRIVES && copyState[1] == IN_DLQ -> redrives++; copyState[1] = VISIBLE; receives[1] = 0 }
#endif
#if NCOPIES > 2
  :: atomic { redrives < MAX_REDRIVES && copyState[2] == IN_DLQ -> redrives++; copyState[2] = VISIBLE; receives[2] = 0 }
#endif
  od
}

/* Property 3: when nothing can move any more, every id was applied or has a copy in the DLQ. */
active proctype Quiescence() {
  byte i, k;
  bool parked;
  timeout ->
#ifdef CHECK_LIVENESS
  i = 0;
  do
  :: i < NI ->
     parked = 0; k = 0;
     do
     :: k < NCOPIES -> parked = parked || (IDOF(k) == i && copyState[k] == IN_DLQ); k++
     :: else -> break
     od;
     assert(applied[i] > 0 || parked);
     i++
  :: else -> break
  od
#endif
}

init {
  byte c;
  atomic {
    c = 0;
    do
    :: c < NC -> run Consumer(c); c++
    :: else -> break
    od
  }
}
