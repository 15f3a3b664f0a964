/* eslint-disable */
import * as types from './graphql';
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';

/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
    "\n  fragment NodeFields on Node {\n    id\n    name\n    state\n    address\n    pool\n    labels\n    capacity\n    freeSlots\n    cordoned\n    schedulable\n    connected\n    agentVersion\n    lastHeartbeatAt\n    drainDeadlineAt\n    removedAt\n    createdAt\n    gpus {\n      index\n      uuid\n      name\n      memoryTotalMb\n      memoryUsedMb\n      utilizationPct\n      temperatureC\n      powerW\n    }\n  }\n": typeof types.NodeFieldsFragmentDoc,
    "\n  query Nodes($first: Int) {\n    nodes(first: $first) {\n      edges {\n        node {\n          ...NodeFields\n          sshHost {\n            address\n          }\n        }\n      }\n    }\n  }\n": typeof types.NodesDocument,
    "\n  subscription NodeUpdated($id: ID) {\n    nodeUpdated(id: $id) {\n      ...NodeFields\n    }\n  }\n": typeof types.NodeUpdatedDocument,
    "\n  fragment QueueFields on Queue {\n    modelId\n    depth\n    running\n    delayed\n    paused\n    oldestEnqueuedAt\n    oldestWaitMs\n  }\n": typeof types.QueueFieldsFragmentDoc,
    "\n  subscription QueueUpdated {\n    queueUpdated {\n      ...QueueFields\n    }\n  }\n": typeof types.QueueUpdatedDocument,
    "\n  subscription JobLogs($id: ID!) {\n    jobLogs(id: $id) {\n      attemptId\n      seq\n      level\n      message\n      at\n    }\n  }\n": typeof types.JobLogsDocument,
    "\n  fragment JobDetailFields on Job {\n    id\n    modelId\n    modelVersionId\n    status\n    priority\n    input\n    output\n    error\n    errorType\n    cause\n    route\n    attemptCount\n    maxAttempts\n    currentAttemptId\n    submittedBy\n    createdAt\n    startedAt\n    finishedAt\n    queueWaitMs\n    runTimeMs\n    totalTimeMs\n    queuePosition\n    attempts {\n      id\n      number\n      nodeId\n      status\n      cause\n      assignedAt\n      startedAt\n      finishedAt\n    }\n    events {\n      id\n      type\n      fromStatus\n      toStatus\n      cause\n      actor\n      attemptId\n      detail\n      at\n    }\n    artifacts {\n      id\n      fileName\n      contentType\n      sizeBytes\n      url\n    }\n  }\n": typeof types.JobDetailFieldsFragmentDoc,
    "\n  query Job($id: ID!) {\n    job(id: $id) {\n      ...JobDetailFields\n    }\n  }\n": typeof types.JobDocument,
    "\n  subscription JobUpdated($id: ID!) {\n    jobUpdated(id: $id) {\n      ...JobDetailFields\n    }\n  }\n": typeof types.JobUpdatedDocument,
    "\n  mutation CancelJob($id: ID!) {\n    cancelJob(id: $id) {\n      ...JobDetailFields\n    }\n  }\n": typeof types.CancelJobDocument,
    "\n  mutation RetryJob($id: ID!) {\n    retryJob(id: $id) {\n      ...JobDetailFields\n    }\n  }\n": typeof types.RetryJobDocument,
    "\n  fragment JobRowFields on Job {\n    id\n    modelId\n    status\n    createdAt\n    finishedAt\n    queueWaitMs\n    runTimeMs\n    attemptCount\n    cause\n    queuePosition\n  }\n": typeof types.JobRowFieldsFragmentDoc,
    "\n  query Jobs($status: [JobStatus!], $modelId: String, $first: Int, $after: String) {\n    jobs(status: $status, modelId: $modelId, first: $first, after: $after) {\n      edges {\n        node {\n          ...JobRowFields\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n": typeof types.JobsDocument,
    "\n  subscription JobRowUpdated($id: ID!) {\n    jobUpdated(id: $id) {\n      ...JobRowFields\n    }\n  }\n": typeof types.JobRowUpdatedDocument,
    "\n  query ModelsForFilter {\n    models {\n      id\n    }\n  }\n": typeof types.ModelsForFilterDocument,
    "\n  query Models {\n    models {\n      id\n      name\n      description\n      createdAt\n      versions {\n        id\n        version\n        createdAt\n        gpuCount\n        gpuMemoryMb\n        timeoutMs\n        maxAttempts\n        inputSchema\n        runner\n      }\n    }\n  }\n": typeof types.ModelsDocument,
    "\n  mutation SubmitJob($input: SubmitJobInput!) {\n    submitJob(input: $input) {\n      created\n      job {\n        id\n        status\n      }\n    }\n  }\n": typeof types.SubmitJobDocument,
    "\n  mutation CreateEnrollmentToken($nodeName: String, $pool: String) {\n    createEnrollmentToken(nodeName: $nodeName, pool: $pool) {\n      token\n      expiresAt\n    }\n  }\n": typeof types.CreateEnrollmentTokenDocument,
    "\n  mutation CordonNode($id: ID!) {\n    cordonNode(id: $id) {\n      ...NodeFields\n    }\n  }\n": typeof types.CordonNodeDocument,
    "\n  mutation UncordonNode($id: ID!) {\n    uncordonNode(id: $id) {\n      ...NodeFields\n    }\n  }\n": typeof types.UncordonNodeDocument,
    "\n  mutation DrainNode($id: ID!, $deadlineMs: Int!) {\n    drainNode(id: $id, deadlineMs: $deadlineMs) {\n      ...NodeFields\n    }\n  }\n": typeof types.DrainNodeDocument,
    "\n  mutation RemoveNode($id: ID!) {\n    removeNode(id: $id) {\n      ...NodeFields\n    }\n  }\n": typeof types.RemoveNodeDocument,
    "\n  mutation ProvisionNode($id: ID!) {\n    provisionNode(id: $id) {\n      id\n      status\n    }\n  }\n": typeof types.ProvisionNodeDocument,
    "\n  mutation ReprovisionNode($id: ID!) {\n    reprovisionNode(id: $id) {\n      id\n      status\n    }\n  }\n": typeof types.ReprovisionNodeDocument,
    "\n  query NodeDetail($id: ID!) {\n    node(id: $id) {\n      ...NodeFields\n      runners {\n        modelVersionId\n        state\n        runs\n        pid\n      }\n      sshHost {\n        address\n        port\n        user\n        installDir\n        hostKeyFingerprint\n        offeredHostKeyFingerprint\n      }\n      provisioningRuns(last: 10) {\n        id\n        status\n        actor\n        error\n        tries\n        startedAt\n        finishedAt\n      }\n      events(last: 50) {\n        id\n        type\n        fromState\n        toState\n        message\n        actor\n        at\n      }\n    }\n  }\n": typeof types.NodeDetailDocument,
    "\n  subscription NodeEvents($nodeId: ID!) {\n    nodeEvents(nodeId: $nodeId) {\n      id\n      type\n      fromState\n      toState\n      message\n      actor\n      at\n    }\n  }\n": typeof types.NodeEventsDocument,
    "\n  mutation SetNodeLabels($id: ID!, $labels: JSON!, $pool: String) {\n    setNodeLabels(id: $id, labels: $labels, pool: $pool) {\n      ...NodeFields\n    }\n  }\n": typeof types.SetNodeLabelsDocument,
    "\n  mutation RestartAgent($id: ID!) {\n    restartAgent(id: $id, reason: \"restarted from the admin console\") {\n      commandId\n    }\n  }\n": typeof types.RestartAgentDocument,
    "\n  subscription ProvisioningLogs($runId: ID!) {\n    provisioningLogs(runId: $runId) {\n      runId\n      step\n      position\n      status\n      line\n      at\n    }\n  }\n": typeof types.ProvisioningLogsDocument,
    "\n  mutation RetryProvisioningRun($id: ID!) {\n    retryProvisioningRun(id: $id) {\n      id\n      status\n    }\n  }\n": typeof types.RetryProvisioningRunDocument,
    "\n  mutation ConfirmHostKey($id: ID!, $fingerprint: String!) {\n    confirmHostKey(id: $id, fingerprint: $fingerprint) {\n      nodeId\n      fingerprint\n      resumedRun {\n        id\n        status\n      }\n    }\n  }\n": typeof types.ConfirmHostKeyDocument,
    "\n  mutation RegisterSshHost($input: RegisterSshHostInput!) {\n    registerSshHost(input: $input) {\n      ...NodeFields\n    }\n  }\n": typeof types.RegisterSshHostDocument,
    "\n  query OverviewJobs($since: DateTime!, $recentFirst: Int, $runningFirst: Int) {\n    recent: jobs(createdAfter: $since, first: $recentFirst) {\n      edges {\n        node {\n          id\n          status\n          createdAt\n          finishedAt\n          cause\n        }\n      }\n      pageInfo {\n        hasNextPage\n      }\n    }\n    running: jobs(status: [ASSIGNED, RUNNING], first: $runningFirst) {\n      edges {\n        node {\n          ...JobRowFields\n        }\n      }\n    }\n  }\n": typeof types.OverviewJobsDocument,
    "\n  query Queues {\n    queues {\n      ...QueueFields\n    }\n  }\n": typeof types.QueuesDocument,
    "\n  mutation PauseQueue($modelId: String!) {\n    pauseQueue(modelId: $modelId) {\n      ...QueueFields\n    }\n  }\n": typeof types.PauseQueueDocument,
    "\n  mutation ResumeQueue($modelId: String!) {\n    resumeQueue(modelId: $modelId) {\n      ...QueueFields\n    }\n  }\n": typeof types.ResumeQueueDocument,
    "\n  mutation PurgeQueue($modelId: String!) {\n    purgeQueue(modelId: $modelId)\n  }\n": typeof types.PurgeQueueDocument,
    "\n  query ApiKeys {\n    apiKeys {\n      id\n      name\n      prefix\n      ownerId\n      scopes\n      createdAt\n      expiresAt\n      lastUsedAt\n      revokedAt\n    }\n  }\n": typeof types.ApiKeysDocument,
    "\n  mutation CreateApiKey($name: String!, $scopes: [String!], $expiresAt: DateTime) {\n    createApiKey(name: $name, scopes: $scopes, expiresAt: $expiresAt) {\n      secret\n      apiKey {\n        id\n        name\n        prefix\n      }\n    }\n  }\n": typeof types.CreateApiKeyDocument,
    "\n  mutation RevokeApiKey($id: ID!) {\n    revokeApiKey(id: $id) {\n      id\n      revokedAt\n    }\n  }\n": typeof types.RevokeApiKeyDocument,
    "\n  query AuditEvents($filter: AuditFilter, $first: Int, $after: String) {\n    auditEvents(filter: $filter, first: $first, after: $after) {\n      edges {\n        node {\n          id\n          at\n          actor\n          action\n          targetType\n          targetId\n          outcome\n          errorCode\n          sourceIp\n          args\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n": typeof types.AuditEventsDocument,
    "\n  subscription AuditEventAdded($filter: AuditFilter) {\n    auditEventAdded(filter: $filter) {\n      id\n      at\n      actor\n      action\n      targetType\n      targetId\n      outcome\n      errorCode\n      args\n    }\n  }\n": typeof types.AuditEventAddedDocument,
    "\n  query Users {\n    users {\n      id\n      email\n      name\n      disabled\n      createdAt\n      role {\n        id\n        name\n      }\n    }\n    roles {\n      id\n      name\n      description\n      builtIn\n      permissions\n    }\n  }\n": typeof types.UsersDocument,
    "\n  mutation CreateUser($email: String!, $name: String!, $password: String!, $role: String!) {\n    createUser(email: $email, name: $name, password: $password, role: $role) {\n      id\n      email\n    }\n  }\n": typeof types.CreateUserDocument,
    "\n  mutation SetUserRole($userId: ID!, $role: String!) {\n    setUserRole(userId: $userId, role: $role) {\n      id\n      role {\n        id\n        name\n      }\n    }\n  }\n": typeof types.SetUserRoleDocument,
    "\n  mutation DisableUser($userId: ID!) {\n    disableUser(userId: $userId) {\n      id\n      disabled\n    }\n  }\n": typeof types.DisableUserDocument,
    "\n  query Viewer {\n    viewer {\n      kind\n      id\n      name\n      permissions\n      csrfToken\n    }\n  }\n": typeof types.ViewerDocument,
    "\n  mutation Login($email: String!, $password: String!) {\n    login(email: $email, password: $password) {\n      expiresAt\n    }\n  }\n": typeof types.LoginDocument,
    "\n  mutation Logout {\n    logout\n  }\n": typeof types.LogoutDocument,
};
const documents: Documents = {
    "\n  fragment NodeFields on Node {\n    id\n    name\n    state\n    address\n    pool\n    labels\n    capacity\n    freeSlots\n    cordoned\n    schedulable\n    connected\n    agentVersion\n    lastHeartbeatAt\n    drainDeadlineAt\n    removedAt\n    createdAt\n    gpus {\n      index\n      uuid\n      name\n      memoryTotalMb\n      memoryUsedMb\n      utilizationPct\n      temperatureC\n      powerW\n    }\n  }\n": types.NodeFieldsFragmentDoc,
    "\n  query Nodes($first: Int) {\n    nodes(first: $first) {\n      edges {\n        node {\n          ...NodeFields\n          sshHost {\n            address\n          }\n        }\n      }\n    }\n  }\n": types.NodesDocument,
    "\n  subscription NodeUpdated($id: ID) {\n    nodeUpdated(id: $id) {\n      ...NodeFields\n    }\n  }\n": types.NodeUpdatedDocument,
    "\n  fragment QueueFields on Queue {\n    modelId\n    depth\n    running\n    delayed\n    paused\n    oldestEnqueuedAt\n    oldestWaitMs\n  }\n": types.QueueFieldsFragmentDoc,
    "\n  subscription QueueUpdated {\n    queueUpdated {\n      ...QueueFields\n    }\n  }\n": types.QueueUpdatedDocument,
    "\n  subscription JobLogs($id: ID!) {\n    jobLogs(id: $id) {\n      attemptId\n      seq\n      level\n      message\n      at\n    }\n  }\n": types.JobLogsDocument,
    "\n  fragment JobDetailFields on Job {\n    id\n    modelId\n    modelVersionId\n    status\n    priority\n    input\n    output\n    error\n    errorType\n    cause\n    route\n    attemptCount\n    maxAttempts\n    currentAttemptId\n    submittedBy\n    createdAt\n    startedAt\n    finishedAt\n    queueWaitMs\n    runTimeMs\n    totalTimeMs\n    queuePosition\n    attempts {\n      id\n      number\n      nodeId\n      status\n      cause\n      assignedAt\n      startedAt\n      finishedAt\n    }\n    events {\n      id\n      type\n      fromStatus\n      toStatus\n      cause\n      actor\n      attemptId\n      detail\n      at\n    }\n    artifacts {\n      id\n      fileName\n      contentType\n      sizeBytes\n      url\n    }\n  }\n": types.JobDetailFieldsFragmentDoc,
    "\n  query Job($id: ID!) {\n    job(id: $id) {\n      ...JobDetailFields\n    }\n  }\n": types.JobDocument,
    "\n  subscription JobUpdated($id: ID!) {\n    jobUpdated(id: $id) {\n      ...JobDetailFields\n    }\n  }\n": types.JobUpdatedDocument,
    "\n  mutation CancelJob($id: ID!) {\n    cancelJob(id: $id) {\n      ...JobDetailFields\n    }\n  }\n": types.CancelJobDocument,
    "\n  mutation RetryJob($id: ID!) {\n    retryJob(id: $id) {\n      ...JobDetailFields\n    }\n  }\n": types.RetryJobDocument,
    "\n  fragment JobRowFields on Job {\n    id\n    modelId\n    status\n    createdAt\n    finishedAt\n    queueWaitMs\n    runTimeMs\n    attemptCount\n    cause\n    queuePosition\n  }\n": types.JobRowFieldsFragmentDoc,
    "\n  query Jobs($status: [JobStatus!], $modelId: String, $first: Int, $after: String) {\n    jobs(status: $status, modelId: $modelId, first: $first, after: $after) {\n      edges {\n        node {\n          ...JobRowFields\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n": types.JobsDocument,
    "\n  subscription JobRowUpdated($id: ID!) {\n    jobUpdated(id: $id) {\n      ...JobRowFields\n    }\n  }\n": types.JobRowUpdatedDocument,
    "\n  query ModelsForFilter {\n    models {\n      id\n    }\n  }\n": types.ModelsForFilterDocument,
    "\n  query Models {\n    models {\n      id\n      name\n      description\n      createdAt\n      versions {\n        id\n        version\n        createdAt\n        gpuCount\n        gpuMemoryMb\n        timeoutMs\n        maxAttempts\n        inputSchema\n        runner\n      }\n    }\n  }\n": types.ModelsDocument,
    "\n  mutation SubmitJob($input: SubmitJobInput!) {\n    submitJob(input: $input) {\n      created\n      job {\n        id\n        status\n      }\n    }\n  }\n": types.SubmitJobDocument,
    "\n  mutation CreateEnrollmentToken($nodeName: String, $pool: String) {\n    createEnrollmentToken(nodeName: $nodeName, pool: $pool) {\n      token\n      expiresAt\n    }\n  }\n": types.CreateEnrollmentTokenDocument,
    "\n  mutation CordonNode($id: ID!) {\n    cordonNode(id: $id) {\n      ...NodeFields\n    }\n  }\n": types.CordonNodeDocument,
    "\n  mutation UncordonNode($id: ID!) {\n    uncordonNode(id: $id) {\n      ...NodeFields\n    }\n  }\n": types.UncordonNodeDocument,
    "\n  mutation DrainNode($id: ID!, $deadlineMs: Int!) {\n    drainNode(id: $id, deadlineMs: $deadlineMs) {\n      ...NodeFields\n    }\n  }\n": types.DrainNodeDocument,
    "\n  mutation RemoveNode($id: ID!) {\n    removeNode(id: $id) {\n      ...NodeFields\n    }\n  }\n": types.RemoveNodeDocument,
    "\n  mutation ProvisionNode($id: ID!) {\n    provisionNode(id: $id) {\n      id\n      status\n    }\n  }\n": types.ProvisionNodeDocument,
    "\n  mutation ReprovisionNode($id: ID!) {\n    reprovisionNode(id: $id) {\n      id\n      status\n    }\n  }\n": types.ReprovisionNodeDocument,
    "\n  query NodeDetail($id: ID!) {\n    node(id: $id) {\n      ...NodeFields\n      runners {\n        modelVersionId\n        state\n        runs\n        pid\n      }\n      sshHost {\n        address\n        port\n        user\n        installDir\n        hostKeyFingerprint\n        offeredHostKeyFingerprint\n      }\n      provisioningRuns(last: 10) {\n        id\n        status\n        actor\n        error\n        tries\n        startedAt\n        finishedAt\n      }\n      events(last: 50) {\n        id\n        type\n        fromState\n        toState\n        message\n        actor\n        at\n      }\n    }\n  }\n": types.NodeDetailDocument,
    "\n  subscription NodeEvents($nodeId: ID!) {\n    nodeEvents(nodeId: $nodeId) {\n      id\n      type\n      fromState\n      toState\n      message\n      actor\n      at\n    }\n  }\n": types.NodeEventsDocument,
    "\n  mutation SetNodeLabels($id: ID!, $labels: JSON!, $pool: String) {\n    setNodeLabels(id: $id, labels: $labels, pool: $pool) {\n      ...NodeFields\n    }\n  }\n": types.SetNodeLabelsDocument,
    "\n  mutation RestartAgent($id: ID!) {\n    restartAgent(id: $id, reason: \"restarted from the admin console\") {\n      commandId\n    }\n  }\n": types.RestartAgentDocument,
    "\n  subscription ProvisioningLogs($runId: ID!) {\n    provisioningLogs(runId: $runId) {\n      runId\n      step\n      position\n      status\n      line\n      at\n    }\n  }\n": types.ProvisioningLogsDocument,
    "\n  mutation RetryProvisioningRun($id: ID!) {\n    retryProvisioningRun(id: $id) {\n      id\n      status\n    }\n  }\n": types.RetryProvisioningRunDocument,
    "\n  mutation ConfirmHostKey($id: ID!, $fingerprint: String!) {\n    confirmHostKey(id: $id, fingerprint: $fingerprint) {\n      nodeId\n      fingerprint\n      resumedRun {\n        id\n        status\n      }\n    }\n  }\n": types.ConfirmHostKeyDocument,
    "\n  mutation RegisterSshHost($input: RegisterSshHostInput!) {\n    registerSshHost(input: $input) {\n      ...NodeFields\n    }\n  }\n": types.RegisterSshHostDocument,
    "\n  query OverviewJobs($since: DateTime!, $recentFirst: Int, $runningFirst: Int) {\n    recent: jobs(createdAfter: $since, first: $recentFirst) {\n      edges {\n        node {\n          id\n          status\n          createdAt\n          finishedAt\n          cause\n        }\n      }\n      pageInfo {\n        hasNextPage\n      }\n    }\n    running: jobs(status: [ASSIGNED, RUNNING], first: $runningFirst) {\n      edges {\n        node {\n          ...JobRowFields\n        }\n      }\n    }\n  }\n": types.OverviewJobsDocument,
    "\n  query Queues {\n    queues {\n      ...QueueFields\n    }\n  }\n": types.QueuesDocument,
    "\n  mutation PauseQueue($modelId: String!) {\n    pauseQueue(modelId: $modelId) {\n      ...QueueFields\n    }\n  }\n": types.PauseQueueDocument,
    "\n  mutation ResumeQueue($modelId: String!) {\n    resumeQueue(modelId: $modelId) {\n      ...QueueFields\n    }\n  }\n": types.ResumeQueueDocument,
    "\n  mutation PurgeQueue($modelId: String!) {\n    purgeQueue(modelId: $modelId)\n  }\n": types.PurgeQueueDocument,
    "\n  query ApiKeys {\n    apiKeys {\n      id\n      name\n      prefix\n      ownerId\n      scopes\n      createdAt\n      expiresAt\n      lastUsedAt\n      revokedAt\n    }\n  }\n": types.ApiKeysDocument,
    "\n  mutation CreateApiKey($name: String!, $scopes: [String!], $expiresAt: DateTime) {\n    createApiKey(name: $name, scopes: $scopes, expiresAt: $expiresAt) {\n      secret\n      apiKey {\n        id\n        name\n        prefix\n      }\n    }\n  }\n": types.CreateApiKeyDocument,
    "\n  mutation RevokeApiKey($id: ID!) {\n    revokeApiKey(id: $id) {\n      id\n      revokedAt\n    }\n  }\n": types.RevokeApiKeyDocument,
    "\n  query AuditEvents($filter: AuditFilter, $first: Int, $after: String) {\n    auditEvents(filter: $filter, first: $first, after: $after) {\n      edges {\n        node {\n          id\n          at\n          actor\n          action\n          targetType\n          targetId\n          outcome\n          errorCode\n          sourceIp\n          args\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n": types.AuditEventsDocument,
    "\n  subscription AuditEventAdded($filter: AuditFilter) {\n    auditEventAdded(filter: $filter) {\n      id\n      at\n      actor\n      action\n      targetType\n      targetId\n      outcome\n      errorCode\n      args\n    }\n  }\n": types.AuditEventAddedDocument,
    "\n  query Users {\n    users {\n      id\n      email\n      name\n      disabled\n      createdAt\n      role {\n        id\n        name\n      }\n    }\n    roles {\n      id\n      name\n      description\n      builtIn\n      permissions\n    }\n  }\n": types.UsersDocument,
    "\n  mutation CreateUser($email: String!, $name: String!, $password: String!, $role: String!) {\n    createUser(email: $email, name: $name, password: $password, role: $role) {\n      id\n      email\n    }\n  }\n": types.CreateUserDocument,
    "\n  mutation SetUserRole($userId: ID!, $role: String!) {\n    setUserRole(userId: $userId, role: $role) {\n      id\n      role {\n        id\n        name\n      }\n    }\n  }\n": types.SetUserRoleDocument,
    "\n  mutation DisableUser($userId: ID!) {\n    disableUser(userId: $userId) {\n      id\n      disabled\n    }\n  }\n": types.DisableUserDocument,
    "\n  query Viewer {\n    viewer {\n      kind\n      id\n      name\n      permissions\n      csrfToken\n    }\n  }\n": types.ViewerDocument,
    "\n  mutation Login($email: String!, $password: String!) {\n    login(email: $email, password: $password) {\n      expiresAt\n    }\n  }\n": types.LoginDocument,
    "\n  mutation Logout {\n    logout\n  }\n": types.LogoutDocument,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 *
 *
 * @example
 * ```ts
 * const query = graphql(`query GetUser($id: ID!) { user(id: $id) { name } }`);
 * ```
 *
 * The query argument is unknown!
 * Please regenerate the types.
 */
export function graphql(source: string): unknown;

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment NodeFields on Node {\n    id\n    name\n    state\n    address\n    pool\n    labels\n    capacity\n    freeSlots\n    cordoned\n    schedulable\n    connected\n    agentVersion\n    lastHeartbeatAt\n    drainDeadlineAt\n    removedAt\n    createdAt\n    gpus {\n      index\n      uuid\n      name\n      memoryTotalMb\n      memoryUsedMb\n      utilizationPct\n      temperatureC\n      powerW\n    }\n  }\n"): (typeof documents)["\n  fragment NodeFields on Node {\n    id\n    name\n    state\n    address\n    pool\n    labels\n    capacity\n    freeSlots\n    cordoned\n    schedulable\n    connected\n    agentVersion\n    lastHeartbeatAt\n    drainDeadlineAt\n    removedAt\n    createdAt\n    gpus {\n      index\n      uuid\n      name\n      memoryTotalMb\n      memoryUsedMb\n      utilizationPct\n      temperatureC\n      powerW\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Nodes($first: Int) {\n    nodes(first: $first) {\n      edges {\n        node {\n          ...NodeFields\n          sshHost {\n            address\n          }\n        }\n      }\n    }\n  }\n"): (typeof documents)["\n  query Nodes($first: Int) {\n    nodes(first: $first) {\n      edges {\n        node {\n          ...NodeFields\n          sshHost {\n            address\n          }\n        }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription NodeUpdated($id: ID) {\n    nodeUpdated(id: $id) {\n      ...NodeFields\n    }\n  }\n"): (typeof documents)["\n  subscription NodeUpdated($id: ID) {\n    nodeUpdated(id: $id) {\n      ...NodeFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment QueueFields on Queue {\n    modelId\n    depth\n    running\n    delayed\n    paused\n    oldestEnqueuedAt\n    oldestWaitMs\n  }\n"): (typeof documents)["\n  fragment QueueFields on Queue {\n    modelId\n    depth\n    running\n    delayed\n    paused\n    oldestEnqueuedAt\n    oldestWaitMs\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription QueueUpdated {\n    queueUpdated {\n      ...QueueFields\n    }\n  }\n"): (typeof documents)["\n  subscription QueueUpdated {\n    queueUpdated {\n      ...QueueFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription JobLogs($id: ID!) {\n    jobLogs(id: $id) {\n      attemptId\n      seq\n      level\n      message\n      at\n    }\n  }\n"): (typeof documents)["\n  subscription JobLogs($id: ID!) {\n    jobLogs(id: $id) {\n      attemptId\n      seq\n      level\n      message\n      at\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment JobDetailFields on Job {\n    id\n    modelId\n    modelVersionId\n    status\n    priority\n    input\n    output\n    error\n    errorType\n    cause\n    route\n    attemptCount\n    maxAttempts\n    currentAttemptId\n    submittedBy\n    createdAt\n    startedAt\n    finishedAt\n    queueWaitMs\n    runTimeMs\n    totalTimeMs\n    queuePosition\n    attempts {\n      id\n      number\n      nodeId\n      status\n      cause\n      assignedAt\n      startedAt\n      finishedAt\n    }\n    events {\n      id\n      type\n      fromStatus\n      toStatus\n      cause\n      actor\n      attemptId\n      detail\n      at\n    }\n    artifacts {\n      id\n      fileName\n      contentType\n      sizeBytes\n      url\n    }\n  }\n"): (typeof documents)["\n  fragment JobDetailFields on Job {\n    id\n    modelId\n    modelVersionId\n    status\n    priority\n    input\n    output\n    error\n    errorType\n    cause\n    route\n    attemptCount\n    maxAttempts\n    currentAttemptId\n    submittedBy\n    createdAt\n    startedAt\n    finishedAt\n    queueWaitMs\n    runTimeMs\n    totalTimeMs\n    queuePosition\n    attempts {\n      id\n      number\n      nodeId\n      status\n      cause\n      assignedAt\n      startedAt\n      finishedAt\n    }\n    events {\n      id\n      type\n      fromStatus\n      toStatus\n      cause\n      actor\n      attemptId\n      detail\n      at\n    }\n    artifacts {\n      id\n      fileName\n      contentType\n      sizeBytes\n      url\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Job($id: ID!) {\n    job(id: $id) {\n      ...JobDetailFields\n    }\n  }\n"): (typeof documents)["\n  query Job($id: ID!) {\n    job(id: $id) {\n      ...JobDetailFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription JobUpdated($id: ID!) {\n    jobUpdated(id: $id) {\n      ...JobDetailFields\n    }\n  }\n"): (typeof documents)["\n  subscription JobUpdated($id: ID!) {\n    jobUpdated(id: $id) {\n      ...JobDetailFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation CancelJob($id: ID!) {\n    cancelJob(id: $id) {\n      ...JobDetailFields\n    }\n  }\n"): (typeof documents)["\n  mutation CancelJob($id: ID!) {\n    cancelJob(id: $id) {\n      ...JobDetailFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation RetryJob($id: ID!) {\n    retryJob(id: $id) {\n      ...JobDetailFields\n    }\n  }\n"): (typeof documents)["\n  mutation RetryJob($id: ID!) {\n    retryJob(id: $id) {\n      ...JobDetailFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment JobRowFields on Job {\n    id\n    modelId\n    status\n    createdAt\n    finishedAt\n    queueWaitMs\n    runTimeMs\n    attemptCount\n    cause\n    queuePosition\n  }\n"): (typeof documents)["\n  fragment JobRowFields on Job {\n    id\n    modelId\n    status\n    createdAt\n    finishedAt\n    queueWaitMs\n    runTimeMs\n    attemptCount\n    cause\n    queuePosition\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Jobs($status: [JobStatus!], $modelId: String, $first: Int, $after: String) {\n    jobs(status: $status, modelId: $modelId, first: $first, after: $after) {\n      edges {\n        node {\n          ...JobRowFields\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n"): (typeof documents)["\n  query Jobs($status: [JobStatus!], $modelId: String, $first: Int, $after: String) {\n    jobs(status: $status, modelId: $modelId, first: $first, after: $after) {\n      edges {\n        node {\n          ...JobRowFields\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription JobRowUpdated($id: ID!) {\n    jobUpdated(id: $id) {\n      ...JobRowFields\n    }\n  }\n"): (typeof documents)["\n  subscription JobRowUpdated($id: ID!) {\n    jobUpdated(id: $id) {\n      ...JobRowFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query ModelsForFilter {\n    models {\n      id\n    }\n  }\n"): (typeof documents)["\n  query ModelsForFilter {\n    models {\n      id\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Models {\n    models {\n      id\n      name\n      description\n      createdAt\n      versions {\n        id\n        version\n        createdAt\n        gpuCount\n        gpuMemoryMb\n        timeoutMs\n        maxAttempts\n        inputSchema\n        runner\n      }\n    }\n  }\n"): (typeof documents)["\n  query Models {\n    models {\n      id\n      name\n      description\n      createdAt\n      versions {\n        id\n        version\n        createdAt\n        gpuCount\n        gpuMemoryMb\n        timeoutMs\n        maxAttempts\n        inputSchema\n        runner\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation SubmitJob($input: SubmitJobInput!) {\n    submitJob(input: $input) {\n      created\n      job {\n        id\n        status\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation SubmitJob($input: SubmitJobInput!) {\n    submitJob(input: $input) {\n      created\n      job {\n        id\n        status\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation CreateEnrollmentToken($nodeName: String, $pool: String) {\n    createEnrollmentToken(nodeName: $nodeName, pool: $pool) {\n      token\n      expiresAt\n    }\n  }\n"): (typeof documents)["\n  mutation CreateEnrollmentToken($nodeName: String, $pool: String) {\n    createEnrollmentToken(nodeName: $nodeName, pool: $pool) {\n      token\n      expiresAt\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation CordonNode($id: ID!) {\n    cordonNode(id: $id) {\n      ...NodeFields\n    }\n  }\n"): (typeof documents)["\n  mutation CordonNode($id: ID!) {\n    cordonNode(id: $id) {\n      ...NodeFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation UncordonNode($id: ID!) {\n    uncordonNode(id: $id) {\n      ...NodeFields\n    }\n  }\n"): (typeof documents)["\n  mutation UncordonNode($id: ID!) {\n    uncordonNode(id: $id) {\n      ...NodeFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation DrainNode($id: ID!, $deadlineMs: Int!) {\n    drainNode(id: $id, deadlineMs: $deadlineMs) {\n      ...NodeFields\n    }\n  }\n"): (typeof documents)["\n  mutation DrainNode($id: ID!, $deadlineMs: Int!) {\n    drainNode(id: $id, deadlineMs: $deadlineMs) {\n      ...NodeFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation RemoveNode($id: ID!) {\n    removeNode(id: $id) {\n      ...NodeFields\n    }\n  }\n"): (typeof documents)["\n  mutation RemoveNode($id: ID!) {\n    removeNode(id: $id) {\n      ...NodeFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation ProvisionNode($id: ID!) {\n    provisionNode(id: $id) {\n      id\n      status\n    }\n  }\n"): (typeof documents)["\n  mutation ProvisionNode($id: ID!) {\n    provisionNode(id: $id) {\n      id\n      status\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation ReprovisionNode($id: ID!) {\n    reprovisionNode(id: $id) {\n      id\n      status\n    }\n  }\n"): (typeof documents)["\n  mutation ReprovisionNode($id: ID!) {\n    reprovisionNode(id: $id) {\n      id\n      status\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query NodeDetail($id: ID!) {\n    node(id: $id) {\n      ...NodeFields\n      runners {\n        modelVersionId\n        state\n        runs\n        pid\n      }\n      sshHost {\n        address\n        port\n        user\n        installDir\n        hostKeyFingerprint\n        offeredHostKeyFingerprint\n      }\n      provisioningRuns(last: 10) {\n        id\n        status\n        actor\n        error\n        tries\n        startedAt\n        finishedAt\n      }\n      events(last: 50) {\n        id\n        type\n        fromState\n        toState\n        message\n        actor\n        at\n      }\n    }\n  }\n"): (typeof documents)["\n  query NodeDetail($id: ID!) {\n    node(id: $id) {\n      ...NodeFields\n      runners {\n        modelVersionId\n        state\n        runs\n        pid\n      }\n      sshHost {\n        address\n        port\n        user\n        installDir\n        hostKeyFingerprint\n        offeredHostKeyFingerprint\n      }\n      provisioningRuns(last: 10) {\n        id\n        status\n        actor\n        error\n        tries\n        startedAt\n        finishedAt\n      }\n      events(last: 50) {\n        id\n        type\n        fromState\n        toState\n        message\n        actor\n        at\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription NodeEvents($nodeId: ID!) {\n    nodeEvents(nodeId: $nodeId) {\n      id\n      type\n      fromState\n      toState\n      message\n      actor\n      at\n    }\n  }\n"): (typeof documents)["\n  subscription NodeEvents($nodeId: ID!) {\n    nodeEvents(nodeId: $nodeId) {\n      id\n      type\n      fromState\n      toState\n      message\n      actor\n      at\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation SetNodeLabels($id: ID!, $labels: JSON!, $pool: String) {\n    setNodeLabels(id: $id, labels: $labels, pool: $pool) {\n      ...NodeFields\n    }\n  }\n"): (typeof documents)["\n  mutation SetNodeLabels($id: ID!, $labels: JSON!, $pool: String) {\n    setNodeLabels(id: $id, labels: $labels, pool: $pool) {\n      ...NodeFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation RestartAgent($id: ID!) {\n    restartAgent(id: $id, reason: \"restarted from the admin console\") {\n      commandId\n    }\n  }\n"): (typeof documents)["\n  mutation RestartAgent($id: ID!) {\n    restartAgent(id: $id, reason: \"restarted from the admin console\") {\n      commandId\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription ProvisioningLogs($runId: ID!) {\n    provisioningLogs(runId: $runId) {\n      runId\n      step\n      position\n      status\n      line\n      at\n    }\n  }\n"): (typeof documents)["\n  subscription ProvisioningLogs($runId: ID!) {\n    provisioningLogs(runId: $runId) {\n      runId\n      step\n      position\n      status\n      line\n      at\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation RetryProvisioningRun($id: ID!) {\n    retryProvisioningRun(id: $id) {\n      id\n      status\n    }\n  }\n"): (typeof documents)["\n  mutation RetryProvisioningRun($id: ID!) {\n    retryProvisioningRun(id: $id) {\n      id\n      status\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation ConfirmHostKey($id: ID!, $fingerprint: String!) {\n    confirmHostKey(id: $id, fingerprint: $fingerprint) {\n      nodeId\n      fingerprint\n      resumedRun {\n        id\n        status\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation ConfirmHostKey($id: ID!, $fingerprint: String!) {\n    confirmHostKey(id: $id, fingerprint: $fingerprint) {\n      nodeId\n      fingerprint\n      resumedRun {\n        id\n        status\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation RegisterSshHost($input: RegisterSshHostInput!) {\n    registerSshHost(input: $input) {\n      ...NodeFields\n    }\n  }\n"): (typeof documents)["\n  mutation RegisterSshHost($input: RegisterSshHostInput!) {\n    registerSshHost(input: $input) {\n      ...NodeFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query OverviewJobs($since: DateTime!, $recentFirst: Int, $runningFirst: Int) {\n    recent: jobs(createdAfter: $since, first: $recentFirst) {\n      edges {\n        node {\n          id\n          status\n          createdAt\n          finishedAt\n          cause\n        }\n      }\n      pageInfo {\n        hasNextPage\n      }\n    }\n    running: jobs(status: [ASSIGNED, RUNNING], first: $runningFirst) {\n      edges {\n        node {\n          ...JobRowFields\n        }\n      }\n    }\n  }\n"): (typeof documents)["\n  query OverviewJobs($since: DateTime!, $recentFirst: Int, $runningFirst: Int) {\n    recent: jobs(createdAfter: $since, first: $recentFirst) {\n      edges {\n        node {\n          id\n          status\n          createdAt\n          finishedAt\n          cause\n        }\n      }\n      pageInfo {\n        hasNextPage\n      }\n    }\n    running: jobs(status: [ASSIGNED, RUNNING], first: $runningFirst) {\n      edges {\n        node {\n          ...JobRowFields\n        }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Queues {\n    queues {\n      ...QueueFields\n    }\n  }\n"): (typeof documents)["\n  query Queues {\n    queues {\n      ...QueueFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation PauseQueue($modelId: String!) {\n    pauseQueue(modelId: $modelId) {\n      ...QueueFields\n    }\n  }\n"): (typeof documents)["\n  mutation PauseQueue($modelId: String!) {\n    pauseQueue(modelId: $modelId) {\n      ...QueueFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation ResumeQueue($modelId: String!) {\n    resumeQueue(modelId: $modelId) {\n      ...QueueFields\n    }\n  }\n"): (typeof documents)["\n  mutation ResumeQueue($modelId: String!) {\n    resumeQueue(modelId: $modelId) {\n      ...QueueFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation PurgeQueue($modelId: String!) {\n    purgeQueue(modelId: $modelId)\n  }\n"): (typeof documents)["\n  mutation PurgeQueue($modelId: String!) {\n    purgeQueue(modelId: $modelId)\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query ApiKeys {\n    apiKeys {\n      id\n      name\n      prefix\n      ownerId\n      scopes\n      createdAt\n      expiresAt\n      lastUsedAt\n      revokedAt\n    }\n  }\n"): (typeof documents)["\n  query ApiKeys {\n    apiKeys {\n      id\n      name\n      prefix\n      ownerId\n      scopes\n      createdAt\n      expiresAt\n      lastUsedAt\n      revokedAt\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation CreateApiKey($name: String!, $scopes: [String!], $expiresAt: DateTime) {\n    createApiKey(name: $name, scopes: $scopes, expiresAt: $expiresAt) {\n      secret\n      apiKey {\n        id\n        name\n        prefix\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation CreateApiKey($name: String!, $scopes: [String!], $expiresAt: DateTime) {\n    createApiKey(name: $name, scopes: $scopes, expiresAt: $expiresAt) {\n      secret\n      apiKey {\n        id\n        name\n        prefix\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation RevokeApiKey($id: ID!) {\n    revokeApiKey(id: $id) {\n      id\n      revokedAt\n    }\n  }\n"): (typeof documents)["\n  mutation RevokeApiKey($id: ID!) {\n    revokeApiKey(id: $id) {\n      id\n      revokedAt\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query AuditEvents($filter: AuditFilter, $first: Int, $after: String) {\n    auditEvents(filter: $filter, first: $first, after: $after) {\n      edges {\n        node {\n          id\n          at\n          actor\n          action\n          targetType\n          targetId\n          outcome\n          errorCode\n          sourceIp\n          args\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n"): (typeof documents)["\n  query AuditEvents($filter: AuditFilter, $first: Int, $after: String) {\n    auditEvents(filter: $filter, first: $first, after: $after) {\n      edges {\n        node {\n          id\n          at\n          actor\n          action\n          targetType\n          targetId\n          outcome\n          errorCode\n          sourceIp\n          args\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription AuditEventAdded($filter: AuditFilter) {\n    auditEventAdded(filter: $filter) {\n      id\n      at\n      actor\n      action\n      targetType\n      targetId\n      outcome\n      errorCode\n      args\n    }\n  }\n"): (typeof documents)["\n  subscription AuditEventAdded($filter: AuditFilter) {\n    auditEventAdded(filter: $filter) {\n      id\n      at\n      actor\n      action\n      targetType\n      targetId\n      outcome\n      errorCode\n      args\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Users {\n    users {\n      id\n      email\n      name\n      disabled\n      createdAt\n      role {\n        id\n        name\n      }\n    }\n    roles {\n      id\n      name\n      description\n      builtIn\n      permissions\n    }\n  }\n"): (typeof documents)["\n  query Users {\n    users {\n      id\n      email\n      name\n      disabled\n      createdAt\n      role {\n        id\n        name\n      }\n    }\n    roles {\n      id\n      name\n      description\n      builtIn\n      permissions\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation CreateUser($email: String!, $name: String!, $password: String!, $role: String!) {\n    createUser(email: $email, name: $name, password: $password, role: $role) {\n      id\n      email\n    }\n  }\n"): (typeof documents)["\n  mutation CreateUser($email: String!, $name: String!, $password: String!, $role: String!) {\n    createUser(email: $email, name: $name, password: $password, role: $role) {\n      id\n      email\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation SetUserRole($userId: ID!, $role: String!) {\n    setUserRole(userId: $userId, role: $role) {\n      id\n      role {\n        id\n        name\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation SetUserRole($userId: ID!, $role: String!) {\n    setUserRole(userId: $userId, role: $role) {\n      id\n      role {\n        id\n        name\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation DisableUser($userId: ID!) {\n    disableUser(userId: $userId) {\n      id\n      disabled\n    }\n  }\n"): (typeof documents)["\n  mutation DisableUser($userId: ID!) {\n    disableUser(userId: $userId) {\n      id\n      disabled\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Viewer {\n    viewer {\n      kind\n      id\n      name\n      permissions\n      csrfToken\n    }\n  }\n"): (typeof documents)["\n  query Viewer {\n    viewer {\n      kind\n      id\n      name\n      permissions\n      csrfToken\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation Login($email: String!, $password: String!) {\n    login(email: $email, password: $password) {\n      expiresAt\n    }\n  }\n"): (typeof documents)["\n  mutation Login($email: String!, $password: String!) {\n    login(email: $email, password: $password) {\n      expiresAt\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation Logout {\n    logout\n  }\n"): (typeof documents)["\n  mutation Logout {\n    logout\n  }\n"];

export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}

export type DocumentType<TDocumentNode extends DocumentNode<any, any>> = TDocumentNode extends DocumentNode<  infer TType,  any>  ? TType  : never;