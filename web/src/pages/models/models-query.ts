import { graphql } from "../../gql/gql";

/** Model ids for filters and pickers. */
export const ModelsForFilterDocument = graphql(`
  query ModelsForFilter {
    models {
      id
    }
  }
`);
